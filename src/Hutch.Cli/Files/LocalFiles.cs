using Hutch.Protocol.Api;

namespace Hutch.Cli.Files;

/// <summary>What a local path is, seen without following a final symlink (lstat).</summary>
internal enum LocalKind { None, File, Directory, Symlink }

/// <summary>
/// The local side of the file commands: stdin or a file as input, output files, modes, and local
/// I/O errors reported as every other failure is, <c>hutch: message (code)</c>, never as a stack trace.
/// </summary>
internal static class LocalFiles
{
    /// <summary>A local read or write failed for a reason other than a missing path or a permission.</summary>
    public const string IoErrorCode = "local_io_error";

    private const int PermissionBits = 0x1ff;
    private const FileAttributes Missing = (FileAttributes)(-1);

    /// <summary>Runs a command's action with local I/O exceptions turned into <see cref="CliException"/>s.</summary>
    public static async Task<int> GuardAsync(Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Failure(e);
        }
    }

    public static CliException Failure(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => new CliException(ErrorCodes.PathNotFound, e.Message),
        UnauthorizedAccessException => new CliException(ErrorCodes.PermissionDenied, e.Message),
        _ => new CliException(IoErrorCode, e.Message),
    };

    /// <summary>
    /// A file to read, or stdin for null and "-". A terminal is never read: a command that needs input
    /// and gets none says how to give it (exit status 2).
    /// </summary>
    public static Stream OpenInput(CliConsole console, string? path, string example)
    {
        if (path is null or "-")
        {
            return console.OpenRedirectedStdin() ?? throw new CliException(ErrorCodes.InvalidRequest,
                $"stdin is a terminal, not the input: pipe or redirect it, as in `{example}`", ExitCodes.Usage);
        }
        return OpenRead(path);
    }

    public static FileStream OpenRead(string path) => new(path, new FileStreamOptions
    {
        Mode = FileMode.Open,
        Access = FileAccess.Read,
        Share = FileShare.ReadWrite | FileShare.Delete,
        Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
    });

    /// <summary>
    /// Writes <paramref name="content"/> to a local file, created with <paramref name="mode"/> if new. Opened
    /// in place rather than renamed over, so `-o /dev/null` or a FIFO works; a file this call created is
    /// deleted again when the copy fails, so no truncated copy is left behind looking complete.
    /// </summary>
    public static async Task WriteAsync(string path, Stream content, UnixFileMode mode, CancellationToken cancellationToken)
    {
        var existed = Lstat(path) != LocalKind.None;
        try
        {
            await using var file = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = mode,
                Options = FileOptions.Asynchronous,
            });
            await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        }
        catch when (!existed)
        {
            TryDelete(path);
            throw;
        }
    }

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

    /// <summary>Octal permission bits as the API spells them ("0644") to a mode; anything else is 0644.</summary>
    public static UnixFileMode ParseMode(string? mode)
    {
        try
        {
            return mode is null ? DefaultFileMode : (UnixFileMode)(Convert.ToInt32(mode, 8) & PermissionBits);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return DefaultFileMode;
        }
    }

    /// <summary>A mode's permission bits as the API spells them: "0755". Never setuid, setgid or sticky.</summary>
    public static string FormatMode(UnixFileMode mode) =>
        "0" + Convert.ToString((int)mode & PermissionBits, 8).PadLeft(3, '0');

    public static UnixFileMode Permissions(UnixFileMode mode) => (UnixFileMode)((int)mode & PermissionBits);

    public static UnixFileMode DefaultFileMode => (UnixFileMode)Convert.ToInt32("644", 8);

    public static string Describe(LocalKind kind) => kind switch
    {
        LocalKind.Directory => "directory",
        LocalKind.Symlink => "symlink",
        _ => "file",
    };

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The copy's own failure is the one to report.
        }
    }
}
