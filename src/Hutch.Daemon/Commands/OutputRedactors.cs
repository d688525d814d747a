using System.Buffers;
using Hutch.Protocol.Redaction;

namespace Hutch.Daemon.Commands;

/// <summary>
/// A command's stdout and stderr as they leave the daemon, each through its own <see cref="Redactor"/>
/// (a value printed to one stream is caught whatever the chunks). With an empty set (a sandbox without
/// secrets) the bytes go through untouched and nothing is copied.
/// </summary>
public sealed class OutputRedactors(RedactionSet set)
{
    private readonly Redactor[] _streams = [new(set), new(set)];

    /// <summary>Whether anything is redacted at all.</summary>
    public bool Active { get; } = set.Count > 0;

    /// <summary>Whether either stream holds bytes back (the start of what may be a value).</summary>
    public bool Holding => _streams[0].Held > 0 || _streams[1].Held > 0;

    /// <summary>What of <paramref name="data"/> can go out now, redacted.</summary>
    public ReadOnlyMemory<byte> Push(OutputStream stream, ReadOnlyMemory<byte> data)
    {
        return _streams[(int)stream].Push(data); // nearly every chunk: scanned once, given out as a slice of itself
    }

    /// <summary>A whole collected output, redacted into a new buffer (the raw one is disposed); the same buffer when nothing is redacted.</summary>
    public static OutputBuffer Redact(OutputBuffer raw, RedactionSet set, Func<OutputBuffer> newBuffer)
    {
        if (set.Count == 0)
        {
            return raw;
        }
        using (raw)
        {
            var clean = newBuffer();
            var redactor = new Redactor(set);
            var output = new ArrayBufferWriter<byte>(OutputBuffer.ChunkSize + 64);
            foreach (var chunk in raw.Chunks())
            {
                redactor.Push(chunk.Span, output);
                clean.Write(output.WrittenSpan);
                output.ResetWrittenCount();
            }
            redactor.Flush(output);
            clean.Write(output.WrittenSpan);
            return clean;
        }
    }

    /// <summary>The streams ended: what each held, replaced when it was long enough a start of a value.</summary>
    public IEnumerable<CommandOutput> Flush()
    {
        foreach (var stream in new[] { OutputStream.Stdout, OutputStream.Stderr })
        {
            if (_streams[(int)stream].Held > 0)
            {
                var output = new ArrayBufferWriter<byte>();
                _streams[(int)stream].Flush(output);
                yield return new CommandOutput(stream, output.WrittenMemory);
            }
        }
    }
}
