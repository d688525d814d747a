using Hutch.Protocol.Api;

namespace Hutch.Daemon.Commands;

/// <summary>
/// A read of a process's log without waiting: its stdout and stderr bytes from a cursor up to about
/// a size, the cursor after them, the bytes the cap dropped before the cursor, and the process as
/// it then was (as it ended, when the read reached its end). Dispose it once written out.
/// </summary>
public sealed record LogWindow(OutputBuffer Stdout, OutputBuffer Stderr, long Cursor, long Dropped, ProcessInfo Process) : IDisposable
{
    /// <summary>Whether more of the log was there than this read returned.</summary>
    public bool More => Cursor < Process.LogBytes;

    public void Dispose()
    {
        Stdout.Dispose();
        Stderr.Dispose();
    }
}
