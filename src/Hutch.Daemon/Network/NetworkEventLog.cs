using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Hutch.Daemon.Network;

/// <summary>
/// One sandbox's network events: NDJSON appended to <c>network.log</c> in its data dir (0600, never
/// mounted into it), read from a cursor that is a byte offset, as process logs are. The file outlives
/// a daemon restart; it goes with the sandbox. At most <see cref="MaxBytes"/>: past that, events are
/// counted but not kept, and the last line kept says so.
/// </summary>
public sealed class NetworkEventLog : IDisposable
{
    /// <summary>The most a sandbox's log holds; a sandbox that opens connections without end cannot fill the disk.</summary>
    public const long MaxBytes = 8 << 20;

    private readonly Lock _lock = new();
    private readonly FileStream _file;
    private TaskCompletionSource _grew = NewSignal();
    private bool _full;
    private bool _disposed;

    public NetworkEventLog(string path)
    {
        Path = path;
        _file = PrivateFiles.OpenWrite(path, append: true);
    }

    public string Path { get; }

    /// <summary>Events not kept because the log was full.</summary>
    public long Dropped { get; private set; }

    /// <summary>The log's length in bytes now: a cursor for "what comes after this".</summary>
    public long Length
    {
        get
        {
            lock (_lock)
            {
                return _disposed ? 0 : _file.Length;
            }
        }
    }

    public void Append(NetworkEvent e)
    {
        var line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(e with { Cursor = 0 }, ApiJsonContext.Default.NetworkEvent) + "\n");
        TaskCompletionSource grew;
        lock (_lock)
        {
            if (_disposed)
            {
                return; // a connection that ended as its sandbox was deleted: the log goes with it
            }
            if (_full || _file.Length + line.Length > MaxBytes)
            {
                Dropped++;
                if (!_full)
                {
                    _full = true;
                    var note = e with
                    {
                        Cursor = 0, Code = "egress_log_full",
                        Message = $"this sandbox's network log reached {MaxBytes >> 20} MiB: later events are not kept (the sandbox's network counters go on)",
                    };
                    _file.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(note, ApiJsonContext.Default.NetworkEvent) + "\n"));
                    _file.Flush();
                }
                return;
            }
            _file.Write(line);
            _file.Flush();
            grew = _grew;
            _grew = NewSignal();
        }
        grew.TrySetResult();
    }

    /// <summary>The events after <paramref name="cursor"/>; with <paramref name="follow"/>, then those to come, until cancelled.</summary>
    public async IAsyncEnumerable<NetworkEvent> ReadAsync(long cursor, bool follow, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (true)
        {
            Task grew;
            lock (_lock)
            {
                grew = _grew.Task;
            }
            var any = false;
            foreach (var e in ReadFrom(Path, cursor))
            {
                any = true;
                cursor = e.Cursor;
                yield return e;
            }
            if (!follow)
            {
                yield break;
            }
            if (!any)
            {
                await grew.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The complete lines of a log file after <paramref name="cursor"/>, each with the cursor after it.</summary>
    /// <exception cref="HutchException">invalid_cursor: negative, past the end, or not where an event starts.</exception>
    public static IEnumerable<NetworkEvent> ReadFrom(string path, long cursor)
    {
        var bytes = ReadAfter(path, cursor);
        var events = new List<NetworkEvent>();
        var start = 0;
        while (start < bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', start);
            if (end < 0)
            {
                break; // a line being written: the next read gets it whole
            }
            var e = JsonSerializer.Deserialize(bytes.AsSpan(start, end - start), ApiJsonContext.Default.NetworkEvent)!;
            events.Add(e with { Cursor = cursor + end + 1 });
            start = end + 1;
        }
        return events;
    }

    private static byte[] ReadAfter(string path, long cursor)
    {
        if (cursor < 0)
        {
            throw new HutchException(ErrorCodes.InvalidCursor, $"The cursor {cursor} is negative: start at 0, or at the cursor of the last event read.");
        }
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        }
        catch (FileNotFoundException) when (cursor == 0)
        {
            return []; // no connection was ever captured
        }
        using (file)
        {
            if (cursor > file.Length)
            {
                throw new HutchException(ErrorCodes.InvalidCursor, $"The cursor {cursor} is past the end of the log ({file.Length} bytes): use the cursor of an event read from it.");
            }
            if (cursor > 0)
            {
                // The byte before a cursor ends a line: a cursor into the middle of one is refused, not misread.
                file.Position = cursor - 1;
                if (file.ReadByte() != '\n')
                {
                    throw new HutchException(ErrorCodes.InvalidCursor, $"The cursor {cursor} is not where an event starts: use the cursor of an event read from this log.");
                }
            }
            var bytes = new byte[file.Length - cursor];
            file.ReadExactly(bytes);
            return bytes;
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _file.Dispose();
        }
    }
}
