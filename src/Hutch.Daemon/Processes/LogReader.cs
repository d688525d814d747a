using System.Runtime.CompilerServices;
using Hutch.Protocol.Agent;
using Hutch.Runtime.Durable;

namespace Hutch.Daemon.Processes;

/// <summary>
/// Reading a background process's durable log: as events from a cursor (following it while the
/// process runs), or as a window of bytes without waiting.
/// </summary>
public sealed class LogReader(SandboxDirectory directory, ProcessManager processes, OutputSpill spill)
{
    /// <summary>
    /// Output from <paramref name="cursor"/>: what is there now, or with <paramref name="follow"/> on
    /// until the process ends. Ends with <see cref="ProcessEnded"/> once the process has ended and
    /// all of its output was given. Every entry carries the cursor to resume from.
    /// </summary>
    public async IAsyncEnumerable<LogEntry> ReadAsync(string idOrName, string process, long cursor, bool follow,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var record = directory.Find(idOrName);
        var store = processes.Records(record.Id);
        var id = processes.Resolve(store, process);
        if (cursor < 0)
        {
            throw new HutchException(ErrorCodes.InvalidCursor, "cursor must be 0 or more.");
        }
        using var log = store.OpenLog(id) ?? throw ProcessManager.ProcessNotFound(process);
        using var changes = follow ? new DirectoryChanges(store.PathOf(id)) : null;
        while (true)
        {
            var next = changes?.Next;
            // Whether it had ended before this read: if so, the read below saw all of its output.
            var before = processes.Describe(record.Id, store, id);
            var chunks = Read(log, id, cursor);
            foreach (var chunk in chunks)
            {
                cursor = chunk.Next;
                yield return new LogEntry(chunk.IsGap
                    ? new OutputTruncated(chunk.Dropped)
                    : new CommandOutput(chunk.Kind == FrameKind.Stderr ? OutputStream.Stderr : OutputStream.Stdout, chunk.Data), cursor);
            }
            if (chunks.Count > 0)
            {
                continue;
            }
            if (!ProcessManager.IsRunning(before))
            {
                yield return new LogEntry(new ProcessEnded(before), cursor);
                yield break;
            }
            if (next is null)
            {
                yield break;
            }
            await DirectoryChanges.WaitAsync(next, ProcessManager.FollowSafetyPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    private static List<LogChunk> Read(ProcessLogReader log, string id, long cursor)
    {
        try
        {
            return log.Read(cursor, 1 << 20);
        }
        catch (InvalidCursorException e)
        {
            throw new HutchException(ErrorCodes.InvalidCursor, e.Message);
        }
        catch (IOException e)
        {
            // A segment that is not a plain file of ours (a planted link is refused, never followed).
            throw new HutchException(ErrorCodes.Internal, $"The log of process {id} is damaged and cannot be read: {e.Message}", e);
        }
    }

    /// <summary>
    /// What the log holds from <paramref name="cursor"/>, up to about <paramref name="maxBytes"/>, without
    /// waiting. Its output is in buffers that spill to disk past a small budget (as a sync exec's):
    /// the caller writes them out and disposes the window.
    /// </summary>
    public async Task<LogWindow> ReadWindowAsync(string idOrName, string process, long cursor, long maxBytes, CancellationToken cancellationToken = default)
    {
        var stdout = spill.NewBuffer(idOrName);
        var stderr = spill.NewBuffer(idOrName);
        try
        {
            long dropped = 0;
            ProcessInfo? ended = null;
            await foreach (var entry in ReadAsync(idOrName, process, cursor, follow: false, cancellationToken).ConfigureAwait(false))
            {
                cursor = entry.Cursor;
                switch (entry.Event)
                {
                    case ProcessEnded e:
                        ended = e.Process;
                        break;
                    case OutputTruncated t:
                        dropped += t.DroppedBytes;
                        break;
                    case CommandOutput o:
                        (o.Stream == OutputStream.Stderr ? stderr : stdout).Write(o.Data.Span);
                        break;
                }
                if (stdout.Length + stderr.Length >= maxBytes)
                {
                    break;
                }
            }
            return new LogWindow(stdout, stderr, cursor, dropped, ended ?? processes.Get(idOrName, process));
        }
        catch
        {
            stdout.Dispose();
            stderr.Dispose();
            throw;
        }
    }
}
