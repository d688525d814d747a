using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// Writes Stdin frames into a command's stdin pipe on its own thread, so a command that does not
/// read never blocks the connection's read loop (and with it every other exec). The thread starts
/// with the first frame; the pipe is closed after StdinEof once the queue has drained.
/// </summary>
internal sealed class StdinFeeder(SafeFileHandle pipe)
{
    /// <summary>
    /// Bytes queued but not yet taken by the command; past this the rest is dropped and stdin closed.
    /// The daemon never sends more than this (it refuses larger stdin with stdin_too_large), so only
    /// a daemon of another version could meet it.
    /// </summary>
    public const long MaxPending = Hutch.Protocol.Api.ExecLimits.MaxStdinBytes;

    private readonly object _gate = new();
    private readonly Queue<ReadOnlyMemory<byte>> _queue = new();
    private long _pending;
    private bool _eof;
    private bool _abandoned;
    private Thread? _thread;

    /// <summary>Starts the writer thread up front, so a command is refused rather than left without stdin when threads run out.</summary>
    public void Start()
    {
        lock (_gate)
        {
            EnsureThread();
        }
    }

    public void Enqueue(ReadOnlyMemory<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }
        lock (_gate)
        {
            if (_eof || _abandoned)
            {
                return;
            }
            if (_pending + data.Length > MaxPending)
            {
                Log.Write($"stdin backlog over {MaxPending} bytes: dropping the rest and closing stdin");
                _eof = true;
            }
            else
            {
                _queue.Enqueue(data);
                _pending += data.Length;
            }
            EnsureThread();
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>StdinEof: close the pipe once everything queued is written.</summary>
    public void Eof()
    {
        lock (_gate)
        {
            _eof = true;
            if (_thread is null)
            {
                // Nothing was ever queued: close now rather than start a thread to do it.
                pipe.Dispose();
                return;
            }
            Monitor.Pulse(_gate);
        }
    }

    /// <summary>The command is over: drop what is queued and close the pipe.</summary>
    public void Abandon()
    {
        lock (_gate)
        {
            _abandoned = true;
            _queue.Clear();
            _pending = 0;
            if (_thread is null)
            {
                pipe.Dispose();
                return;
            }
            Monitor.Pulse(_gate);
        }
    }

    private void EnsureThread()
    {
        if (_thread is null)
        {
            _thread = new Thread(Loop, 64 * 1024) { IsBackground = true, Name = "stdin" };
            _thread.Start();
        }
    }

    /// <summary>Writes through a pinned-heap buffer: the write may block for as long as the command does not read.</summary>
    private bool Write(ReadOnlySpan<byte> data)
    {
        var buffer = Buffers.Rent();
        try
        {
            while (!data.IsEmpty)
            {
                var n = Math.Min(data.Length, buffer.Length);
                data[..n].CopyTo(buffer);
                if (!Fds.WriteAll(pipe, buffer.AsSpan(0, n)))
                {
                    return false;
                }
                data = data[n..];
            }
            return true;
        }
        finally
        {
            Buffers.Return(buffer);
        }
    }

    private void Loop()
    {
        try
        {
            while (true)
            {
                ReadOnlyMemory<byte> chunk;
                lock (_gate)
                {
                    while (_queue.Count == 0 && !_eof && !_abandoned)
                    {
                        Monitor.Wait(_gate);
                    }
                    if (_abandoned || _queue.Count == 0)
                    {
                        return;
                    }
                    chunk = _queue.Dequeue();
                    _pending -= chunk.Length;
                }
                // A write that blocks here only holds this thread. False: the command closed its
                // stdin (EPIPE), so nothing more can be delivered.
                if (!Write(chunk.Span))
                {
                    return;
                }
            }
        }
        catch (Exception e)
        {
            Log.Write($"stdin write failed: {e.Message}");
        }
        finally
        {
            lock (_gate)
            {
                _abandoned = true;
                _queue.Clear();
            }
            pipe.Dispose();
        }
    }
}
