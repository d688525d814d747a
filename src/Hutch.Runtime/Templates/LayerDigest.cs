namespace Hutch.Runtime.Templates;

/// <summary>
/// Layer and blob digests as OCI writes them ("sha256:" and 64 lower-case hex digits) and the store's
/// directory name for one ("sha256-…": a ':' is what overlayfs separates lower directories with).
/// Only sha256: it is what every image tool writes, and a digest is checked before it names anything
/// on disk, so "sha256:../../etc" never becomes a path.
/// </summary>
public static class LayerDigest
{
    public const string Prefix = "sha256:";
    internal const string DirectoryPrefix = "sha256-";
    private const int HexLength = 64;

    /// <summary>True for "sha256:" followed by exactly 64 lower-case hex digits.</summary>
    public static bool IsValid(string? digest) =>
        digest is { Length: 71 } && digest.StartsWith(Prefix, StringComparison.Ordinal) && IsHex(digest.AsSpan(Prefix.Length));

    /// <summary>The 64 hex digits of a valid digest.</summary>
    /// <exception cref="ArgumentException">Not a valid sha256 digest.</exception>
    public static string Hex(string digest) => IsValid(digest)
        ? digest[Prefix.Length..]
        : throw new ArgumentException($"'{digest}' is not a sha256 digest (sha256: and 64 lower-case hex digits)", nameof(digest));

    internal static string FromHex(string hex) => Prefix + hex;

    internal static bool IsHex(ReadOnlySpan<char> hex)
    {
        if (hex.Length != HexLength)
        {
            return false;
        }
        foreach (var c in hex)
        {
            if (c is not (>= '0' and <= '9' or >= 'a' and <= 'f'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The digest a store directory name stands for, or null for any other name (temporaries, strays).</summary>
    internal static string? FromDirectoryName(string name) =>
        name.Length == DirectoryPrefix.Length + HexLength && name.StartsWith(DirectoryPrefix, StringComparison.Ordinal)
            && IsHex(name.AsSpan(DirectoryPrefix.Length))
            ? Prefix + name[DirectoryPrefix.Length..]
            : null;

    internal static string DirectoryName(string digest) => DirectoryPrefix + Hex(digest);
}
