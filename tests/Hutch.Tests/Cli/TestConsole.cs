using System.Text;
using Hutch.Cli;

namespace Hutch.Tests.Cli;

/// <summary>A console whose output is kept in memory, for running `hutch` in-process.</summary>
internal sealed class TestConsole
{
    public StringWriter Out { get; } = new();
    public StringWriter Error { get; } = new();
    public MemoryStream Stdout { get; } = new();
    public MemoryStream Stderr { get; } = new();

    /// <param name="stdin">stdin's bytes, or null for a terminal.</param>
    /// <param name="stdinIsPipe">stdin is a pipe, else a file.</param>
    /// <param name="tellUnread">For a pipe: whether hutch not reading it deserves a note (it had input, and stderr is a terminal).</param>
    public TestConsole(byte[]? stdin = null, bool stdinIsPipe = false, bool tellUnread = true)
    {
        Console = new CliConsole(Out, Error, () => Stdout, () => Stderr, () => stdin is null ? null : new MemoryStream(stdin),
            stdin is null ? () => StdinKind.Terminal : stdinIsPipe ? () => StdinKind.Pipe(() => tellUnread) : () => StdinKind.File(stdin.Length));
    }

    public CliConsole Console { get; }

    public string StdoutText => Encoding.UTF8.GetString(Stdout.ToArray());
    public string StderrText => Encoding.UTF8.GetString(Stderr.ToArray());
}
