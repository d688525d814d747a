using System.Buffers;
using System.Runtime.InteropServices;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Redaction;

namespace Hutch.Agent;

/// <summary>
/// Redacts a command's output before it reaches a durable log (<see cref="ProcessLog"/>), one
/// <see cref="Redactor"/> per stream, so the log on the host's disk never holds a secret value the
/// sandbox's commands were given, even when no daemon is there to read it. What a redactor holds
/// back at a chunk's end waits for the next chunk of its stream, and goes out at the command's exit.
/// Called from the exec's pump thread only, like the log itself.
/// </summary>
internal sealed class RedactingOutput(IExecOutput log, RedactionSet set) : IExecOutput
{
    private readonly Redactor _stdout = new(set);
    private readonly Redactor _stderr = new(set);
    private readonly ArrayBufferWriter<byte> _redacted = new(Exec.ChunkSize);
    private readonly byte[] _frame = new byte[FrameCodec.HeaderSize + Exec.ChunkSize];

    /// <summary>The log itself when <paramref name="secrets"/> is empty, else the log behind redaction.</summary>
    public static IExecOutput Wrap(IExecOutput log, RedactedSecret[]? secrets) =>
        secrets is { Length: > 0 } ? new RedactingOutput(log, RedactionSets.Of(secrets)) : log;

    public void Write(FrameKind kind, byte[] buffer, int payloadLength)
    {
        var redactor = kind == FrameKind.Stderr ? _stderr : _stdout;
        var redacted = redactor.Push(buffer.AsMemory(FrameCodec.HeaderSize, payloadLength));
        if (MemoryMarshal.TryGetArray(redacted, out var slice) && slice.Array == buffer && slice.Offset == FrameCodec.HeaderSize)
        {
            if (slice.Count > 0)
            {
                log.Write(kind, buffer, slice.Count); // nearly every chunk: scanned once, written from where it is
            }
            return;
        }
        _redacted.ResetWrittenCount();
        _redacted.Write(redacted.Span);
        WriteRedacted(kind);
    }

    public void Exited(Exec exec, ExecExited exit)
    {
        foreach (var (kind, redactor) in new[] { (FrameKind.Stdout, _stdout), (FrameKind.Stderr, _stderr) })
        {
            _redacted.ResetWrittenCount();
            redactor.Flush(_redacted);
            WriteRedacted(kind);
        }
        log.Exited(exec, exit);
    }

    public void TerminalResized(int cols, int rows) => log.TerminalResized(cols, rows);

    /// <summary>What the redactor gave out, in frames of at most a chunk (markers can make it longer than what came in).</summary>
    private void WriteRedacted(FrameKind kind)
    {
        var redacted = _redacted.WrittenSpan;
        while (redacted.Length > 0)
        {
            var length = Math.Min(redacted.Length, Exec.ChunkSize);
            redacted[..length].CopyTo(_frame.AsSpan(FrameCodec.HeaderSize));
            log.Write(kind, _frame, length);
            redacted = redacted[length..];
        }
    }
}

/// <summary>
/// The redaction set of the last secrets the daemon sent: every command of a sandbox holds the same
/// ones, so the set (its filter table is 128 KiB) is built once, and again only when they change.
/// </summary>
internal static class RedactionSets
{
    private static readonly Lock Gate = new();
    private static (RedactedSecret[] Secrets, RedactionSet Set)? _last;

    public static RedactionSet Of(RedactedSecret[] secrets)
    {
        lock (Gate)
        {
            if (_last is { } last && Same(last.Secrets, secrets))
            {
                return last.Set;
            }
            var set = RedactionSet.Of(secrets);
            _last = (secrets, set);
            return set;
        }
    }

    private static bool Same(RedactedSecret[] a, RedactedSecret[] b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        for (var i = 0; i < a.Length; i++)
        {
            if (a[i].Name != b[i].Name || !a[i].Value.AsSpan().SequenceEqual(b[i].Value))
            {
                return false;
            }
        }
        return true;
    }
}
