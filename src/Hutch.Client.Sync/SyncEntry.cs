namespace Hutch.Client.Sync;

/// <summary>One file, directory or symlink of a synced tree, on either side or in the baseline.</summary>
/// <param name="Path">Relative to the synced directory, '/'-separated, e.g. <c>src/main.c</c>.</param>
/// <param name="Type">What the entry is; a symlink is never followed.</param>
/// <param name="Mode">
/// Permission bits (e.g. 0755 octal = 493). Only the low nine bits are synced: setuid, setgid and sticky
/// are dropped, so a sandbox cannot plant a set-id file on the local disk. Ignored for symlinks.
/// </param>
/// <param name="Size">Bytes of a regular file; 0 otherwise (a directory's reported size is ignored).</param>
/// <param name="Sha256">Lowercase hex SHA-256 of a regular file's content; null otherwise.</param>
/// <param name="LinkTarget">A symlink's target, exactly as stored (relative or absolute); null otherwise.</param>
public sealed record SyncEntry(string Path, SyncEntryType Type, int Mode, long Size, string? Sha256, string? LinkTarget)
{
    /// <summary>The permission bits sync keeps (rwxrwxrwx).</summary>
    internal const int PermissionMask = 0x1FF;

    /// <summary>SHA-256 of no bytes: an empty file's hash, known without opening it.</summary>
    internal const string EmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// <summary>
    /// True when both are absent, or both hold the same thing: same type, and the same content and
    /// permission bits (files), permission bits (directories) or target (symlinks). Path and size are
    /// not compared: the hash covers a file's size, and a directory's size means nothing.
    /// </summary>
    internal static bool SameState(SyncEntry? a, SyncEntry? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }
        if (a.Type != b.Type)
        {
            return false;
        }
        return a.Type switch
        {
            SyncEntryType.File => SameMode(a, b) && string.Equals(a.Sha256, b.Sha256, StringComparison.OrdinalIgnoreCase),
            SyncEntryType.Directory => SameMode(a, b),
            _ => string.Equals(a.LinkTarget, b.LinkTarget, StringComparison.Ordinal),
        };
    }

    /// <summary>True when both are files with the same bytes (their modes may differ).</summary>
    internal static bool SameContent(SyncEntry a, SyncEntry b) =>
        a.Type == b.Type && a.Type switch
        {
            SyncEntryType.File => string.Equals(a.Sha256, b.Sha256, StringComparison.OrdinalIgnoreCase),
            SyncEntryType.Directory => true,
            _ => string.Equals(a.LinkTarget, b.LinkTarget, StringComparison.Ordinal),
        };

    private static bool SameMode(SyncEntry a, SyncEntry b) => (a.Mode & PermissionMask) == (b.Mode & PermissionMask);
}

/// <summary>
/// The kinds of entry sync handles. Portable .NET cannot tell a FIFO, socket or device from an empty
/// file, so locally those read as empty files (and are never opened, which could block).
/// </summary>
public enum SyncEntryType
{
    /// <summary>A regular file.</summary>
    File,

    /// <summary>A directory.</summary>
    Directory,

    /// <summary>A symbolic link, stored and compared as its target string, never followed.</summary>
    Symlink,
}
