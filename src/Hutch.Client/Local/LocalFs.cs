namespace Hutch.Client.Local;

/// <summary>What a local path is, seen without following a final symlink (lstat).</summary>
internal enum LocalKind { None, File, Directory, Symlink }

/// <summary>
/// The local file system as `hutch cp` and sync both touch it: lstat without following a final symlink,
/// reading a file that others may still write, permission bits only, and cleaning up after a failure.
/// Shared by the CLI and the sync library (both through InternalsVisibleTo).
/// </summary>
internal static class LocalFs
{
    /// <summary>rwxrwxrwx: never setuid, setgid or sticky.</summary>
    public const int PermissionBits = 0x1ff;

    private const FileAttributes Missing = (FileAttributes)(-1);

    /// <summary>What is at <paramref name="path"/>, not following it if it is a symlink.</summary>
    public static LocalKind Lstat(string path)
    {
        // FileSystemInfo.Attributes comes from lstat: a symlink reports ReparsePoint (plus Directory
        // when it points at one), and a missing path reports -1.
        var attributes = new FileInfo(path).Attributes;
        return attributes == Missing ? LocalKind.None
            : attributes.HasFlag(FileAttributes.ReparsePoint) ? LocalKind.Symlink
            : attributes.HasFlag(FileAttributes.Directory) ? LocalKind.Directory
            : LocalKind.File;
    }

    /// <summary>Opens a file to read it once, front to back, while others may still write, rename or delete it.</summary>
    public static FileStream OpenRead(string path) => new(path, new FileStreamOptions
    {
        Mode = FileMode.Open,
        Access = FileAccess.Read,
        Share = FileShare.ReadWrite | FileShare.Delete,
        Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
    });

    /// <summary>A mode's permission bits only: no setuid, setgid or sticky bit.</summary>
    public static UnixFileMode Permissions(UnixFileMode mode) => (UnixFileMode)((int)mode & PermissionBits);

    /// <summary>"file", "directory" or "symlink", for messages.</summary>
    public static string Describe(LocalKind kind) => kind switch
    {
        LocalKind.Directory => "directory",
        LocalKind.Symlink => "symlink",
        _ => "file",
    };

    /// <summary>Removes a file (or symlink, never its target) after a failure, which stays the error to report.</summary>
    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind: the caller's own failure is the one to report.
        }
    }
}
