using Hutch.Protocol.Agent;

namespace Hutch.Tests.Protocol;

[Trait("Category", "Unit")]
public class FrameCodecTests
{
    [Fact]
    public async Task Frames_RoundTrip_WithBinaryPayloadAndChannel()
    {
        var stream = new MemoryStream();
        var writer = new FrameWriter(stream);
        var payload = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        await writer.WriteAsync(FrameKind.Stdout, 42, payload);
        await writer.WriteAsync(FrameKind.StdinEof, 7, ReadOnlyMemory<byte>.Empty);
        stream.Position = 0;

        var first = await FrameCodec.ReadAsync(stream);
        var second = await FrameCodec.ReadAsync(stream);
        var end = await FrameCodec.ReadAsync(stream);

        Assert.Equal(FrameKind.Stdout, first!.Value.Kind);
        Assert.Equal(42u, first.Value.Channel);
        Assert.Equal(payload, first.Value.Payload.ToArray());
        Assert.Equal(FrameKind.StdinEof, second!.Value.Kind);
        Assert.Equal(0, second.Value.Payload.Length);
        Assert.Null(end);
    }

    [Fact]
    public async Task Read_WhenStreamEndsMidFrame_Throws()
    {
        var stream = new MemoryStream();
        await new FrameWriter(stream).WriteAsync(FrameKind.Stdout, 1, new byte[10]);
        var truncated = new MemoryStream(stream.ToArray()[..12]);
        await Assert.ThrowsAsync<EndOfStreamException>(async () => await FrameCodec.ReadAsync(truncated));
    }

    [Fact]
    public async Task Read_WhenLengthExceedsLimit_RefusesFrame()
    {
        var header = new byte[FrameCodec.HeaderSize];
        BitConverter.TryWriteBytes(header, (uint)FrameCodec.MaxPayload + 1);
        await Assert.ThrowsAsync<InvalidDataException>(async () => await FrameCodec.ReadAsync(new MemoryStream(header)));
    }
}
