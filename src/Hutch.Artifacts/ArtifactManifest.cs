using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hutch.Protocol.Api;

namespace Hutch.Artifacts;

/// <summary>One kept file of a set.</summary>
/// <param name="Path">Relative to /workspace.</param>
/// <param name="Purpose">Why it was kept ("output" for a glob's match, or what a caller said).</param>
/// <param name="Sha256">Lowercase hex; the blob's name in the store.</param>
public sealed record ManifestEntry(string Path, string Purpose, long Size, string Sha256, DateTimeOffset Created);

/// <summary>
/// What a set holds: the trusted record of every kept file. Signed with the daemon's key, so a
/// manifest edited in the store (or damaged) is refused instead of believed.
/// </summary>
/// <param name="Set">The set's id: a sandbox id, or session:KEY.</param>
/// <param name="Mac">HMAC-SHA256 (base64) of the manifest's JSON without this field.</param>
public sealed record ArtifactManifest(int Version, string Set, List<ManifestEntry> Entries, string? Mac = null)
{
    public const int CurrentVersion = 1;

    public static ArtifactManifest Empty(string set) => new(CurrentVersion, set, []);

    /// <summary>The manifest with <paramref name="entry"/> in place of any entry of the same path.</summary>
    public ArtifactManifest With(ManifestEntry entry) =>
        this with { Entries = [.. Entries.Where(e => e.Path != entry.Path), entry], Mac = null };

    /// <summary>The manifest's bytes, signed with <paramref name="key"/>.</summary>
    public byte[] ToSignedJson(ReadOnlySpan<byte> key)
    {
        var unsigned = JsonSerializer.SerializeToUtf8Bytes(this with { Mac = null }, ManifestJson.Default.ArtifactManifest);
        var mac = Convert.ToBase64String(HMACSHA256.HashData(key, unsigned));
        return JsonSerializer.SerializeToUtf8Bytes(this with { Mac = mac }, ManifestJson.Default.ArtifactManifest);
    }

    /// <summary>Reads and verifies a manifest; artifact_manifest_invalid when it does not parse, names another set, or its mac does not match.</summary>
    public static ArtifactManifest FromSignedJson(ReadOnlySpan<byte> json, string set, ReadOnlySpan<byte> key)
    {
        ArtifactManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize(json, ManifestJson.Default.ArtifactManifest);
        }
        catch (JsonException e)
        {
            throw Invalid(set, "it is not valid JSON", e);
        }
        if (manifest is null || manifest.Mac is null || manifest.Set != set || manifest.Entries is null)
        {
            throw Invalid(set, manifest?.Set != set ? "it names another set" : "it is not signed");
        }
        var unsigned = JsonSerializer.SerializeToUtf8Bytes(manifest with { Mac = null }, ManifestJson.Default.ArtifactManifest);
        Span<byte> expected = stackalloc byte[32];
        HMACSHA256.HashData(key, unsigned, expected);
        Span<byte> given = stackalloc byte[64];
        if (!Convert.TryFromBase64String(manifest.Mac, given, out var length) || length != 32 || !CryptographicOperations.FixedTimeEquals(expected, given[..32]))
        {
            throw Invalid(set, "its signature does not match its content (it was edited or damaged)");
        }
        return manifest;
    }

    private static ArtifactException Invalid(string set, string why, Exception? inner = null) =>
        new(ErrorCodes.ArtifactManifestInvalid, $"The manifest of artifact set '{set}' is not trusted: {why}. Nothing was read from it.", inner);
}

/// <summary>Source-generated JSON for manifests: one fixed property order, so a signature can be checked again.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ArtifactManifest))]
internal sealed partial class ManifestJson : JsonSerializerContext;
