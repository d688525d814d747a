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

    public TestConsole(byte[]? stdin = null)
    {
        Console = new CliConsole(Out, Error, () => Stdout, () => Stderr, () => stdin is null ? null : new MemoryStream(stdin));
    }

    public CliConsole Console { get; }

    public string StdoutText => Encoding.UTF8.GetString(Stdout.ToArray());
    public string StderrText => Encoding.UTF8.GetString(Stderr.ToArray());
}
