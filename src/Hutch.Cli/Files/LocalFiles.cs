using Hutch.Client.Local;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Files;

/// <summary>
/// The local side of the file commands: stdin or a file as input, output files, modes, and local
/// I/O errors reported as every other failure is, <c>hutch: message (code)</c>, never as a stack trace.
/// The file system calls beneath are <see cref="LocalFs"/>, shared with sync.
/// </summary>
internal static class LocalFiles
{
    /// <summary>A local read or write failed for a reason other than a missing path or a permission.</summary>
    public const string IoErrorCode = "local_io_error";

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
        return LocalFs.OpenRead(path);
    }

    /// <summary>
    /// Writes <paramref name="content"/> to a local file, created with <paramref name="mode"/> if new. Opened
    /// in place rather than renamed over, so `-o /dev/null` or a FIFO works; a file this call created is
    /// deleted again when the copy fails, so no truncated copy is left behind looking complete.
    /// </summary>
    public static async Task WriteAsync(string path, Stream content, UnixFileMode mode, CancellationToken cancellationToken)
    {
        var existed = LocalFs.Lstat(path) != LocalKind.None;
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
            LocalFs.TryDelete(path);   // the copy's own failure is the one to report
            throw;
        }
    }

    /// <summary>Octal permission bits as the API spells them ("0644") to a mode; anything else is 0644.</summary>
    public static UnixFileMode ParseMode(string? mode)
    {
        try
        {
            return mode is null ? DefaultFileMode : LocalFs.Permissions((UnixFileMode)Convert.ToInt32(mode, 8));
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return DefaultFileMode;
        }
    }

    /// <summary>A mode's permission bits as the API spells them: "0755". Never setuid, setgid or sticky.</summary>
    public static string FormatMode(UnixFileMode mode) =>
        "0" + Convert.ToString((int)LocalFs.Permissions(mode), 8).PadLeft(3, '0');

    public static UnixFileMode DefaultFileMode => (UnixFileMode)Convert.ToInt32("644", 8);
}
