namespace Hutch.Cli;

/// <summary>
/// The process's standard streams, as text for messages and as raw bytes for a command's output
/// (never re-encoded: binary output passes through). Tests give their own.
/// </summary>
internal sealed class CliConsole(TextWriter output, TextWriter error, Func<Stream> openStdout, Func<Stream> openStderr, Func<Stream?> openStdin)
{
    /// <summary>The real console. stdin is offered only when it is not a terminal (a pipe or a file).</summary>
    public static CliConsole System { get; } = new(
        Console.Out,
        Console.Error,
        Console.OpenStandardOutput,
        Console.OpenStandardError,
        () => Console.IsInputRedirected ? Console.OpenStandardInput() : null);

    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>Unbuffered stdout: each write reaches the fd at once, so streamed output appears as it comes.</summary>
    public Stream OpenStdout() => openStdout();

    public Stream OpenStderr() => openStderr();

    /// <summary>stdin when it is redirected, else null (a terminal is never read: the command gets /dev/null).</summary>
    public Stream? OpenRedirectedStdin() => openStdin();

    /// <summary>Writes <c>hutch: message (code)</c> to stderr, the one shape of every error the CLI reports.</summary>
    public void Fail(string message, string? code = null)
    {
        message = message.TrimEnd().TrimEnd('.');
        Error.WriteLine(code is null ? $"hutch: {message}" : $"hutch: {message} ({code})");
    }
}
