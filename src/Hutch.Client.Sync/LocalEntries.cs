using System.Security.Cryptography;
using Hutch.Client.Local;

namespace Hutch.Client.Sync;

/// <summary>
/// Local paths as sync entries: hashing, modes, and the checks that make every replacement or deletion
/// safe (the path is still what the merge saw; no directory on the way is a symlink). The plain file
/// system calls underneath are <see cref="LocalFs"/>, shared with `hutch cp`.
/// </summary>
internal static class LocalEntries
{

    /// <summary>The local path of a relative sync path ('/' is a separator on every OS .NET runs on).</summary>
    public static string Full(string root, string relative) => relative.Length == 0 ? root : Path.Join(root, relative);

    /// <summary>
    /// Throws unless every directory between <paramref name="root"/> and <paramref name="relative"/> is a
    /// real directory: writing or deleting beneath a symlink would reach outside the synced tree.
    /// </summary>
    public static void CheckParents(string root, string relative)
    {
        foreach (var ancestor in SyncPath.Ancestors(relative))
        {
            var kind = LocalFs.Lstat(Full(root, ancestor));
            if (kind != LocalKind.Directory)
            {
                throw new SyncException(kind == LocalKind.None ? SyncErrorCodes.LocalChanged : SyncErrorCodes.UnsafeLocalPath,
                    kind == LocalKind.None
                        ? $"\"{SyncPath.Escape(ancestor)}\" disappeared locally during the sync. Run it again."
                        : $"\"{SyncPath.Escape(ancestor)}\" is locally a {(kind == LocalKind.Symlink ? "symlink" : "file")}, not a directory: sync will not write \"{SyncPath.Escape(relative)}\" through it.");
            }
        }
    }

    /// <summary>
    /// SHA-256 of a file's bytes. An empty file is never opened: a FIFO or device looks like one to
    /// portable .NET, and opening a FIFO blocks until someone writes to it.
    /// </summary>
    public static async Task<string> HashAsync(string fullPath, long size, CancellationToken cancellationToken)
    {
        if (size == 0)
        {
            return SyncEntry.EmptySha256;
        }
        await using var stream = LocalFs.OpenRead(fullPath);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The permission bits of a scanned entry; on Windows, which has none, the usual 0644 / 0755.</summary>
    public static int ModeOf(FileSystemInfo info)
    {
        if (OperatingSystem.IsWindows())
        {
            return info is DirectoryInfo ? 0x1ED : 0x1A4;
        }
        return (int)info.UnixFileMode & SyncEntry.PermissionMask;
    }

    /// <summary>Sets permission bits of an open file (fchmod: whatever its path now points at).</summary>
    public static void SetMode(Microsoft.Win32.SafeHandles.SafeFileHandle handle, int mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(handle, (UnixFileMode)(mode & SyncEntry.PermissionMask));
        }
    }

    /// <summary>Sets permission bits of a path the caller just checked with <see cref="LocalFs.Lstat"/> to be no symlink.</summary>
    public static void SetMode(string fullPath, int mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(fullPath, (UnixFileMode)(mode & SyncEntry.PermissionMask));
        }
    }

    /// <summary>
    /// Throws <see cref="SyncErrorCodes.LocalChanged"/> unless the local path still holds exactly
    /// <paramref name="expected"/> (type, permission bits, content or target). Called right before sync
    /// replaces or deletes anything local, so an edit made since the scan is never overwritten.
    /// </summary>
    public static async Task VerifyUnchangedAsync(string root, SyncEntry expected, CancellationToken cancellationToken)
    {
        CheckParents(root, expected.Path);
        var full = Full(root, expected.Path);
        var actual = await ReadEntryAsync(full, expected.Path, cancellationToken).ConfigureAwait(false);
        if (!SyncEntry.SameState(actual, expected))
        {
            throw new SyncException(SyncErrorCodes.LocalChanged,
                $"\"{SyncPath.Escape(expected.Path)}\" changed locally while syncing, so it was left alone. Run the command again to merge the new version.");
        }
    }

    /// <summary>The entry at a local path now, or null when there is nothing (or something sync does not handle).</summary>
    public static async Task<SyncEntry?> ReadEntryAsync(string fullPath, string relative, CancellationToken cancellationToken)
    {
        FileSystemInfo info = new FileInfo(fullPath);
        switch (LocalFs.Lstat(fullPath))
        {
            case LocalKind.Symlink:
                return new SyncEntry(relative, SyncEntryType.Symlink, SyncEntry.PermissionMask, 0, null, info.LinkTarget);
            case LocalKind.Directory:
                info = new DirectoryInfo(fullPath);
                return new SyncEntry(relative, SyncEntryType.Directory, ModeOf(info), 0, null, null);
            case LocalKind.File:
                var size = ((FileInfo)info).Length;
                var sha = await HashAsync(fullPath, size, cancellationToken).ConfigureAwait(false);
                return new SyncEntry(relative, SyncEntryType.File, ModeOf(info), size, sha, null);
            default:
                return null;
        }
    }

    /// <summary>A name for a temporary file beside its destination; sync's scans always skip this pattern.</summary>
    public static string TempName() => $".hutch-sync-{Guid.NewGuid():N}.tmp";

    /// <summary>The exclude pattern for <see cref="TempName"/>: a leftover of an interrupted pull is never synced.</summary>
    public const string TempPattern = ".hutch-sync-*.tmp";
}
