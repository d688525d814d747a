using System.Text.Json.Serialization.Metadata;
using System.Text.Json;

namespace Hutch.Protocol.Agent;

/// <summary>
/// Serialises frames onto a shared stream. Writers on many channels call it concurrently, so every
/// frame is written whole under one lock and frames of different channels never interleave.
/// </summary>
public sealed class FrameWriter(Stream stream) : IAsyncDisposable
{
    private readonly SemaphoreSlim _lock = new(1, 1);

    public async ValueTask WriteAsync(FrameKind kind, uint channel, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken = default)
    {
        var buffer = new byte[FrameCodec.HeaderSize + payload.Length];
        FrameCodec.WriteHeader(buffer, kind, channel, payload.Length);
        payload.Span.CopyTo(buffer.AsSpan(FrameCodec.HeaderSize));
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await stream.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    public ValueTask WriteJsonAsync<T>(FrameKind kind, uint channel, T value, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken = default) =>
        WriteAsync(kind, channel, JsonSerializer.SerializeToUtf8Bytes(value, typeInfo), cancellationToken);

    public ValueTask DisposeAsync()
    {
        _lock.Dispose();
        return stream.DisposeAsync();
    }
}
