using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hutch.Protocol.Api;

namespace Hutch.Artifacts;

/// <summary>What a download link lets its holder fetch: one path of one set, with that content, until a time.</summary>
/// <param name="Exp">Unix seconds after which the link is refused.</param>
public sealed record LinkClaim(string Set, string Path, string Sha256, long Exp);

/// <summary>
/// Daemon-signed download links for the local store: <c>base64url(claim) "." base64url(HMAC-SHA256)</c>,
/// so a browser can fetch one artifact without the API key, and nothing else, until the link expires.
/// </summary>
public sealed class LinkSigner(byte[] key, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public string Sign(LinkClaim claim)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(claim, LinkJson.Default.LinkClaim);
        return Base64Url(body) + "." + Base64Url(HMACSHA256.HashData(key, body));
    }

    /// <summary>The claim of a token whose signature holds and whose time is not over; artifact_not_found for a bad token, link_expired for an old one.</summary>
    public LinkClaim Verify(string token)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || token.Length > 4096 || !TryDecode(token[..dot], out var body) || !TryDecode(token[(dot + 1)..], out var mac)
            || !CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(key, body), mac))
        {
            throw new ArtifactException(ErrorCodes.ArtifactNotFound, "This link is not one the daemon made (or it was altered).");
        }
        var claim = JsonSerializer.Deserialize(body, LinkJson.Default.LinkClaim)
            ?? throw new ArtifactException(ErrorCodes.ArtifactNotFound, "This link is not one the daemon made.");
        if (_time.GetUtcNow().ToUnixTimeSeconds() >= claim.Exp)
        {
            throw new ArtifactException(ErrorCodes.LinkExpired, $"This link expired at {DateTimeOffset.FromUnixTimeSeconds(claim.Exp):u}. Ask for a new one (GET …/artifacts/{{path}}/url).");
        }
        return claim;
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryDecode(string text, out byte[] bytes)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - padded.Length % 4) % 4);
        bytes = new byte[padded.Length];
        if (Convert.TryFromBase64String(padded, bytes, out var n))
        {
            bytes = bytes[..n];
            return true;
        }
        return false;
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(LinkClaim))]
internal sealed partial class LinkJson : JsonSerializerContext;
