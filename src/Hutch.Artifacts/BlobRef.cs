namespace Hutch.Artifacts;

/// <summary>A stored blob: its content's SHA-256 (lowercase hex, its name in the store) and size.</summary>
public readonly record struct BlobRef(string Sha256, long Size)
{
    /// <summary>Whether <paramref name="sha256"/> is 64 lowercase hex digits (so it is safe as a file or key name).</summary>
    public static bool IsValid(string? sha256) =>
        sha256 is { Length: 64 } && sha256.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
