using System.Security.Cryptography;
using System.Text;

namespace Hutch.Daemon.Http;

/// <summary>
/// The daemon's bearer key: generated on first start (256 random bits), kept in a 0600 file in the
/// data dir, compared in constant time.
/// </summary>
public sealed class ApiKey
{
    private readonly byte[] _key;

    private ApiKey(string key)
    {
        _key = Encoding.UTF8.GetBytes(key);
        // Names the key in limits and logs without revealing it: a hash prefix cannot be turned back into the key.
        Id = "key-" + Convert.ToHexStringLower(SHA256.HashData(_key))[..12];
    }

    /// <summary>The key's identity for per-key budgets (rate limits, quotas): a hash prefix, never the key.</summary>
    public string Id { get; }

    /// <summary>Loads the key file, or creates it; <paramref name="created"/> says which.</summary>
    public static ApiKey LoadOrCreate(string file, out bool created)
    {
        created = false;
        if (File.Exists(file))
        {
            return new ApiKey(File.ReadAllText(file).Trim());
        }
        var key = "hk_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        created = PrivateFiles.CreateOnce(file, Encoding.UTF8.GetBytes(key + "\n"));
        return created ? new ApiKey(key) : new ApiKey(File.ReadAllText(file).Trim()); // another process created it first
    }

    /// <summary>True when the Authorization header carries this key as a bearer token.</summary>
    public bool Matches(string? authorization)
    {
        const string prefix = "Bearer ";
        if (authorization is null || !authorization.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(authorization[prefix.Length..].Trim()), _key);
    }
}
