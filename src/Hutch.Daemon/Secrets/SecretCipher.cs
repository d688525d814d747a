using System.Security.Cryptography;
using System.Text;

namespace Hutch.Daemon.Secrets;

/// <summary>A value as it is kept: AES-256-GCM under the daemon's key, bound to its secret's name and version.</summary>
/// <param name="KeyId">The first 8 bytes of SHA-256 of the key that sealed it: a daemon with another key says so instead of failing to decrypt.</param>
public sealed record SealedValue(byte[] KeyId, byte[] Nonce, byte[] Ciphertext, byte[] Tag);

/// <summary>
/// Encrypts secret values at rest (docs/design/0010-secrets.md, section 1): 32 random bytes in a
/// 0600 key file of the data dir, made on the first seal, or an operator's file
/// (<c>HUTCH_SECRETS_KEY_FILE</c>), which must be root's alone. The associated data is
/// <c>hutch-secret\0NAME\0VERSION</c>, so a row copied under another name or version does not open.
/// A backup of the data dir without the key file holds nothing readable.
/// </summary>
public sealed class SecretCipher(string keyFile, bool operatorKey)
{
    private const int KeyBytes = 32;
    private readonly Lock _lock = new();
    private byte[]? _key;

    public string KeyFile => keyFile;

    public SealedValue Seal(string name, int version, ReadOnlySpan<byte> value)
    {
        var key = Key(create: !operatorKey);
        var nonce = RandomNumberGenerator.GetBytes(12);
        var ciphertext = new byte[value.Length];
        var tag = new byte[16];
        using var gcm = new AesGcm(key, tag.Length);
        gcm.Encrypt(nonce, value, ciphertext, tag, AssociatedData(name, version));
        return new SealedValue(KeyIdOf(key), nonce, ciphertext, tag);
    }

    public byte[] Open(string name, int version, SealedValue sealedValue)
    {
        var key = Key(create: false);
        if (!KeyIdOf(key).AsSpan().SequenceEqual(sealedValue.KeyId))
        {
            throw Unavailable($"the key in {keyFile} is not the key the secret {name} was stored with");
        }
        var value = new byte[sealedValue.Ciphertext.Length];
        try
        {
            using var gcm = new AesGcm(key, sealedValue.Tag.Length);
            gcm.Decrypt(sealedValue.Nonce, sealedValue.Ciphertext, sealedValue.Tag, value, AssociatedData(name, version));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw Unavailable($"the stored value of the secret {name} (version {version}) does not open: it was changed or moved in the registry");
        }
        return value;
    }

    private static byte[] AssociatedData(string name, int version) => Encoding.UTF8.GetBytes($"hutch-secret\0{name}\0{version}");

    private static byte[] KeyIdOf(byte[] key) => SHA256.HashData(key)[..8];

    private byte[] Key(bool create)
    {
        lock (_lock)
        {
            return _key ??= Load(create);
        }
    }

    private byte[] Load(bool create)
    {
        if (!File.Exists(keyFile))
        {
            if (!create)
            {
                throw Unavailable($"the secrets key file {keyFile} does not exist");
            }
            // Two daemons starting at once agree on one key.
            PrivateFiles.CreateOnce(keyFile, Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomNumberGenerator.GetBytes(KeyBytes)) + "\n"));
        }
        if (operatorKey && (File.GetUnixFileMode(keyFile) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            throw Unavailable($"the secrets key file {keyFile} can be read or written by others than its owner: chmod 600 it");
        }
        byte[] key;
        try
        {
            key = Convert.FromBase64String(File.ReadAllText(keyFile).Trim());
        }
        catch (FormatException)
        {
            throw Unavailable($"the secrets key file {keyFile} does not hold a base64 key");
        }
        return key.Length == KeyBytes ? key : throw Unavailable($"the secrets key in {keyFile} is {key.Length} bytes, not {KeyBytes}");
    }

    private static HutchException Unavailable(string why) =>
        new(ErrorCodes.SecretsUnavailable, $"Secrets are unavailable: {why}. Restore the daemon's key file (or HUTCH_SECRETS_KEY_FILE); without it stored values cannot be read.");
}
