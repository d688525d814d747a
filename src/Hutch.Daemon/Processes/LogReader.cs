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
    /// <remarks>
    /// Output is redacted (the sandbox's secrets). A cursor is handed out only where the redactors
    /// hold nothing: frames whose end might be the start of a value are given with the frames that
    /// settle it, so a read resumed from any cursor never begins inside a value.
    /// </remarks>
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
        var redactors = new OutputRedactors(directory.Secrets.RedactionOf(record.Id));
        var pending = new List<CommandEvent>(); // redacted output of frames read past the last safe cursor
        var read = cursor; // where the next frame is read from; cursor stays at the last safe point
        while (true)
        {
            var next = changes?.Next;
            // Whether it had ended before this read: if so, the read below saw all of its output.
            var before = processes.Describe(record.Id, store, id);
            var chunks = Read(log, id, read);
            foreach (var chunk in chunks)
            {
                read = chunk.Next;
                if (chunk.IsGap)
                {
                    pending.Add(new OutputTruncated(chunk.Dropped));
                }
                else
                {
                    var stream = chunk.Kind == FrameKind.Stderr ? OutputStream.Stderr : OutputStream.Stdout;
                    pending.Add(new CommandOutput(stream, redactors.Push(stream, chunk.Data)));
                }
                if (!redactors.Holding)
                {
                    foreach (var entry in Settled(pending, cursor, read))
                    {
                        yield return entry;
                    }
                    cursor = read;
                }
            }
            if (chunks.Count > 0)
            {
                continue;
            }
            if (!ProcessManager.IsRunning(before))
            {
                // Nothing more will come: what is held goes out (replaced when it is long enough).
                pending.AddRange(redactors.Flush());
                foreach (var entry in Settled(pending, cursor, read))
                {
                    yield return entry;
                }
                cursor = read;
                yield return new LogEntry(new ProcessEnded(before), cursor);
                yield break;
            }
            if (next is null)
            {
                yield break; // what is held stays unread: the next read starts at the last safe cursor
            }
            await DirectoryChanges.WaitAsync(next, ProcessManager.FollowSafetyPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The pending events worth giving (output that redaction left empty is not) as entries: the last
    /// with the cursor after them all, the others with the cursor before them all, so resuming from any
    /// entry's cursor repeats at most what came with it and never skips or starts inside a value.
    /// </summary>
    private static List<LogEntry> Settled(List<CommandEvent> pending, long before, long after)
    {
        var settled = pending.Where(e => e is not CommandOutput { Data.IsEmpty: true }).ToList();
        pending.Clear();
        return [.. settled.Select((e, i) => new LogEntry(e, i == settled.Count - 1 ? after : before))];
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
                // Entries given together share the cursor before them but the last: the window ends only at a last one.
                var groupEnd = entry.Cursor != cursor || entry.Event is ProcessEnded;
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
                if (groupEnd && stdout.Length + stderr.Length >= maxBytes)
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
