using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Cli;

/// <summary>
/// The process's standard streams, as text for messages and as raw bytes for a command's output
/// (never re-encoded: binary output passes through). Tests give their own.
/// </summary>
/// <param name="stdinKind">What stdin is, told without reading it (default: a file when the stdin stream can seek, else a pipe).</param>
internal sealed class CliConsole(TextWriter output, TextWriter error, Func<Stream> openStdout, Func<Stream> openStderr, Func<Stream?> openStdin,
    Func<StdinKind>? stdinKind = null)
{
    private const int StdinFd = 0;

    /// <summary>
    /// The real console. Output goes through <see cref="OutputFd"/> so that a closed reader (EPIPE)
    /// ends hutch; stdin is offered only when it is not a terminal (a pipe or a file).
    /// </summary>
    public static CliConsole System { get; } = new(
        Console.Out,
        Console.Error,
        () => new OutputFd(1),
        () => new OutputFd(2),
        () => Console.IsInputRedirected ? Console.OpenStandardInput() : null,
        ProbeStdin);

    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>Unbuffered stdout: each write reaches the fd at once, so streamed output appears as it comes.</summary>
    public Stream OpenStdout() => openStdout();

    public Stream OpenStderr() => openStderr();

    /// <summary>stdin when it is redirected, else null (a terminal is never read: the command gets /dev/null).</summary>
    public Stream? OpenRedirectedStdin() => openStdin();

    /// <summary>What stdin is (terminal, file, pipe), told without reading from it.</summary>
    public StdinKind StdinKind => stdinKind?.Invoke() ?? openStdin() switch
    {
        null => StdinKind.Terminal,
        { CanSeek: true } s => StdinKind.File(s.Length - s.Position),
        _ => StdinKind.Pipe(() => false),
    };

    /// <summary>Writes <c>hutch: message (code)</c> to stderr, the one shape of every error the CLI reports.</summary>
    public void Fail(string message, string? code = null)
    {
        message = message.TrimEnd().TrimEnd('.');
        Error.WriteLine(code is null ? $"hutch: {message}" : $"hutch: {message} ({code})");
    }

    /// <summary>
    /// fd 0 as a regular file (seekable, with a length: `&lt; input.txt`, also /dev/null, whose length
    /// is 0) or as anything else that is not a terminal: a pipe, a socket, a FIFO. A FileStream is used
    /// only to ask (lseek, fstat); it never reads, since it would read with pread and leave the fd's
    /// offset where it was for whoever reads stdin after hutch.
    /// </summary>
    private static StdinKind ProbeStdin()
    {
        if (!Console.IsInputRedirected)
        {
            return StdinKind.Terminal;
        }
        try
        {
            using var probe = new FileStream(new SafeFileHandle(StdinFd, ownsHandle: false), FileAccess.Read, bufferSize: 0);
            if (probe.CanSeek)
            {
                return StdinKind.File(Math.Max(0, probe.Length - probe.Position));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return StdinKind.File(0); // fd 0 not open (started with it closed): as /dev/null.
        }
        return StdinKind.Pipe(UnreadInputToTell);
    }

    /// <summary>
    /// Whether a person should be told that a pipe on stdin was not read: reading fd 0 would not block
    /// (bytes wait, or the writer closed it: poll cannot tell which without reading), and stderr is a
    /// terminal. A harness that closes an empty stdin (CliWrap, a .NET Process, Python's stdin=PIPE)
    /// captures stderr, and must not get a note on every call for input it never had.
    /// </summary>
    private static bool UnreadInputToTell()
    {
        if (Console.IsErrorRedirected)
        {
            return false;
        }
        using var fd = new SafeFileHandle(StdinFd, ownsHandle: false);
        return Fds.PollReadable([fd], timeoutMs: 0) != 0;
    }
}

/// <summary>What hutch's stdin is, which decides whether `exec` and `run` read it (docs/exec.md#stdin).</summary>
/// <param name="UnreadInputToTell">For a pipe: whether hutch not reading it deserves a note (see <see cref="Exec.Stdin.ReportUnread"/>).</param>
internal sealed record StdinKind(bool IsTerminal, long? FileBytes, Func<bool>? UnreadInputToTell)
{
    public static StdinKind Terminal { get; } = new(true, null, null);

    /// <summary>A regular file (or /dev/null): <paramref name="bytesLeft"/> from the offset to its end, known before reading.</summary>
    public static StdinKind File(long bytesLeft) => new(false, bytesLeft, null);

    /// <summary>A pipe or socket: it ends only when its writer closes it, which may be never.</summary>
    public static StdinKind Pipe(Func<bool> unreadInputToTell) => new(false, null, unreadInputToTell);
}
