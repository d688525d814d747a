using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Shells;

/// <summary>Waits for text on a shell's terminal, reading its output from a cursor as a client would.</summary>
internal sealed class ShellScreen(HutchClient client, string sandbox, string shell)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private readonly StringBuilder _seen = new();

    /// <summary>Everything the terminal wrote so far (as far as it was read).</summary>
    public string Text => _seen.ToString();

    public long Cursor { get; private set; }

    /// <summary>Reads on until <paramref name="expected"/> appears after what was already matched; returns the text up to it.</summary>
    public async Task<string> WaitForAsync(string expected)
    {
        var start = _seen.Length;
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var output = await client.ReadShellOutputAsync(sandbox, shell, Cursor);
            _seen.Append(output.Data);
            Cursor = output.Cursor;
            var at = _seen.ToString().IndexOf(expected, start, StringComparison.Ordinal);
            if (at >= 0)
            {
                return _seen.ToString(start, at + expected.Length - start);
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"'{expected}' did not appear on the terminal within {Patience.TotalSeconds} s. It shows:\n{_seen}");
            }
            await Task.Delay(20);
        }
    }

    public Task TypeAsync(string keys) => client.WriteShellInputAsync(sandbox, shell, keys);

    /// <summary>Waits until the shell has ended and returns it.</summary>
    public async Task<ProcessInfo> WaitForEndAsync()
    {
        var ended = await client.WaitProcessAsync(sandbox, shell, Patience);
        Assert.NotEqual(ProcessStates.Running, ended.State);
        return ended;
    }
}
