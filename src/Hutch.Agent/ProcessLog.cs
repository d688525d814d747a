using System.Text.Json;
using Hutch.Linux;
using Hutch.Protocol.Agent;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// The durable output of a background process: its directory in the records directory (layout in
/// <see cref="ProcessRecords"/>), log segments appended frame by frame, and the start and exit
/// records written atomically (temporary name, then rename). The daemon reads all of it by path,
/// so a process's output and exit status outlive the daemon and any client. The log is written only
/// from the process's pump thread, so it needs no lock; a resize writes its record from the
/// connection's thread, under the exec's lock that keeps it before <see cref="Exited"/>.
/// </summary>
internal sealed class ProcessLog : IExecOutput
{
    private const int FileMode = 0b110_000_000; // 0600
    private readonly SafeFileHandle _dir;
    private readonly string _id;
    private readonly long _segmentLimit;
    private readonly Action<string> _onExited;
    private readonly List<long> _segments = [];
    private SafeFileHandle? _segment;
    private long _segmentBytes;
    private long _offset;
    private bool _writeFailed;

    private ProcessLog(SafeFileHandle dir, string id, long maxLogBytes, Action<string> onExited)
    {
        _dir = dir;
        _id = id;
        // Two segments of half the cap each: the newest output is always kept whole.
        _segmentLimit = Math.Max(maxLogBytes / 2, Exec.ChunkSize + FrameCodec.HeaderSize);
        _onExited = onExited;
    }

    /// <summary>Creates the process's directory and its first segment (before the spawn, so a failure starts nothing).</summary>
    /// <exception cref="LinuxException">EEXIST when the id is taken; anything the file system says.</exception>
    public static ProcessLog Create(SafeFileHandle records, string id, long maxLogBytes, Action<string> onExited)
    {
        At.MakeDirectory(records, id, 0b111_000_000);
        SafeFileHandle? dir = null;
        try
        {
            dir = Beneath.Open(records, id, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true);
            var log = new ProcessLog(dir, id, maxLogBytes, onExited);
            log.OpenSegment();
            return log;
        }
        catch
        {
            dir?.Dispose();
            Remove(records, id);
            throw;
        }
    }

    /// <summary>The spawn failed: nothing of the process may stay.</summary>
    public void Discard(SafeFileHandle records)
    {
        _segment?.Dispose();
        _dir.Dispose();
        Remove(records, _id);
    }

    private static void Remove(SafeFileHandle records, string id)
    {
        try
        {
            using var dir = Beneath.Open(records, id, Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true);
            foreach (var entry in At.ReadDirectory(dir))
            {
                At.Unlink(dir, entry.Name);
            }
            At.Unlink(records, id, directory: true);
        }
        catch (IOException e)
        {
            Log.Write($"process {id}: cannot remove its records: {e.Message}");
        }
    }

    public void WriteStart(ProcessStartRecord start) => WriteRecord(ProcessRecords.StartFile, json => AgentJson.Write(json, start));

    public void Write(FrameKind kind, byte[] buffer, int payloadLength)
    {
        var length = FrameCodec.HeaderSize + payloadLength;
        if (_segmentBytes > 0 && _segmentBytes + length > _segmentLimit)
        {
            Rotate();
        }
        // The channel field holds the frame's own offset: a reader given a cursor can tell it points at a frame.
        FrameCodec.WriteHeader(buffer, kind, (uint)_offset, payloadLength);
        try
        {
            if (_segment is null)
            {
                throw new IOException("no open log segment");
            }
            Fds.WriteAll(_segment, buffer.AsSpan(0, length));
        }
        catch (IOException e)
        {
            // Disk full or the like: the process must run on; its log has a hole from here on.
            if (!_writeFailed)
            {
                Log.Write($"process {_id}: writing its log failed, output is dropped: {e.Message}");
                _writeFailed = true;
            }
            return;
        }
        _offset += length;
        _segmentBytes += length;
    }

    public void Exited(Exec exec, ExecExited exit)
    {
        _segment?.Dispose();
        // Out of the table first: once exit.json says it ended, no request may be accepted for it.
        _onExited(_id);
        var record = new ProcessExitRecord(exit.ExitCode, exit.Signal, exit.TimedOut, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), exit.DurationMs, _offset);
        WriteRecord(ProcessRecords.ExitFile, json => AgentJson.Write(json, record));
        _dir.Dispose();
    }

    /// <summary>Keeps the terminal's size where the daemon reads it (terminal.json), replaced atomically.</summary>
    public void TerminalResized(int cols, int rows) =>
        WriteRecord(ProcessRecords.TerminalFile, json => AgentJson.Write(json, new TerminalRecord(cols, rows)));

    /// <summary>Starts a new segment at the current offset and deletes all but the one before it.</summary>
    private void Rotate()
    {
        _segment?.Dispose();
        OpenSegment();
        while (_segments.Count > 2)
        {
            var oldest = _segments[0];
            _segments.RemoveAt(0);
            try
            {
                At.Unlink(_dir, ProcessRecords.SegmentName(oldest));
            }
            catch (IOException e)
            {
                Log.Write($"process {_id}: cannot delete an old log segment: {e.Message}");
            }
        }
    }

    private void OpenSegment()
    {
        _segment = null;
        try
        {
            _segment = Beneath.Open(_dir, ProcessRecords.SegmentName(_offset),
                Beneath.O_WRONLY | Beneath.O_CREAT | Beneath.O_EXCL | Beneath.O_APPEND, FileMode, noSymlinks: true);
        }
        catch (IOException e) when (_segments.Count > 0)
        {
            Log.Write($"process {_id}: cannot start a new log segment: {e.Message}");
            return;
        }
        _segments.Add(_offset);
        _segmentBytes = 0;
    }

    private void WriteRecord(string name, AgentJson.Writer properties)
    {
        var temporary = "." + name + ".tmp";
        try
        {
            var bytes = AgentJson.Frame(properties, out var length);
            using (var file = Beneath.Open(_dir, temporary, Beneath.O_WRONLY | Beneath.O_CREAT | Beneath.O_TRUNC, FileMode, noSymlinks: true))
            {
                Fds.WriteAll(file, bytes.AsSpan(FrameCodec.HeaderSize, length));
            }
            At.Rename(_dir, temporary, _dir, name);
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            Log.Write($"process {_id}: cannot write {name}: {e.Message}");
        }
    }
}
