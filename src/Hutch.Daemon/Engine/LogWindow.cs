using Hutch.Protocol.Api;

namespace Hutch.Daemon.Engine;

/// <summary>
/// A read of a process's log without waiting: its stdout and stderr bytes from a cursor up to about
/// a size, the cursor after them, the bytes the cap dropped before the cursor, and the process as
/// it then was (as it ended, when the read reached its end).
/// </summary>
public sealed record LogWindow(byte[] Stdout, byte[] Stderr, long Cursor, long Dropped, ProcessInfo Process)
{
    /// <summary>Whether more of the log was there than this read returned.</summary>
    public bool More => Cursor < Process.LogBytes;
}
