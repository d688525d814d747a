using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Hutch.Client;

/// <summary>
/// Reads newline-delimited JSON (one value per line) from a stream, a line at a time, without
/// decoding to strings first. Blank lines are skipped; a final line without a newline still counts.
/// </summary>
/// <param name="stream">The body; disposed with the reader.</param>
/// <param name="typeInfo">The serializer's metadata for a value, when <paramref name="read"/> is null.</param>
/// <param name="read">Reads one value from a line's reader, which stands before it: the serializer's by default.</param>
internal sealed class NdjsonReader<T>(Stream stream, JsonTypeInfo<T>? typeInfo, NdjsonReader<T>.ReadValue? read = null) : IAsyncDisposable where T : class
{
    public delegate T ReadValue(ref Utf8JsonReader reader);

    private readonly PipeReader _pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: false));
    private bool _completed;

    /// <summary>The next value, or null at the end of the stream.</summary>
    public async ValueTask<T?> ReadAsync(CancellationToken cancellationToken)
    {
        while (!_completed)
        {
            var result = await _pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var found = false;
            try
            {
                while (TryReadLine(ref buffer, result.IsCompleted, out var line))
                {
                    if (!IsBlank(line))
                    {
                        found = true;
                        return Deserialize(line);
                    }
                }
                if (result.IsCompleted)
                {
                    _completed = true;
                }
            }
            finally
            {
                // Everything before `buffer` is consumed. After a value, what follows it is not examined
                // yet (it may hold the next lines already: the next call must not wait for more bytes);
                // otherwise all of it was, and only new bytes can make a line.
                _pipe.AdvanceTo(buffer.Start, found ? buffer.Start : buffer.End);
            }
        }
        return null;
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, bool isCompleted, out ReadOnlySequence<byte> line)
    {
        if (buffer.PositionOf((byte)'\n') is { } newline)
        {
            line = buffer.Slice(0, newline);
            buffer = buffer.Slice(buffer.GetPosition(1, newline));
            return true;
        }
        if (isCompleted && !buffer.IsEmpty)
        {
            line = buffer;
            buffer = buffer.Slice(buffer.End);
            return true;
        }
        line = default;
        return false;
    }

    private static bool IsBlank(ReadOnlySequence<byte> line)
    {
        foreach (var segment in line)
        {
            foreach (var b in segment.Span)
            {
                if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r'))
                {
                    return false;
                }
            }
        }
        return true;
    }

    private T Deserialize(ReadOnlySequence<byte> line)
    {
        var reader = new Utf8JsonReader(line); // Trailing '\r' is whitespace to the JSON reader.
        if (read is not null)
        {
            return read(ref reader);
        }
        return JsonSerializer.Deserialize(ref reader, typeInfo!) ?? throw new JsonException("A line held JSON null instead of an object.");
    }

    public ValueTask DisposeAsync() => _pipe.CompleteAsync();
}
