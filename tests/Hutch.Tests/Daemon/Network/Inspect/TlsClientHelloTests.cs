using System.Net.Security;
using Hutch.Daemon.Network.Inspect;

namespace Hutch.Tests.Daemon.Network.Inspect;

/// <summary>The SNI read from real ClientHellos (made by the platform's TLS stack), whole, split and damaged.</summary>
[Trait("Category", "Unit")]
public sealed class TlsClientHelloTests
{
    /// <summary>The first flight a real TLS client sends for <paramref name="host"/>.</summary>
    internal static async Task<byte[]> HelloAsync(string? host)
    {
        var capture = new FirstWrite();
        var tls = new SslStream(capture);
        var handshake = tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = host ?? "",
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        });
        var hello = await capture.Written.Task.WaitAsync(TimeSpan.FromSeconds(10));
        capture.Dispose(); // the handshake fails on the closed stream; only its first bytes matter
        await Assert.ThrowsAnyAsync<Exception>(() => handshake);
        return hello;
    }

    [Fact]
    public async Task ARealHello_GivesItsServerName()
    {
        var hello = await HelloAsync("upstream.test");

        Assert.True(TlsClientHello.LooksLikeTls(hello));
        Assert.Equal(HelloState.Complete, TlsClientHello.Read(hello, out var name));
        Assert.Equal("upstream.test", name);
    }

    [Fact]
    public async Task AHelloWithoutServerName_IsComplete_WithNone()
    {
        var hello = await HelloAsync(null);

        Assert.Equal(HelloState.Complete, TlsClientHello.Read(hello, out var name));
        Assert.Null(name);
    }

    [Fact]
    public async Task EveryCutOfAHello_AsksForMore()
    {
        var hello = await HelloAsync("upstream.test");

        for (var i = 0; i < hello.Length; i++)
        {
            Assert.Equal(HelloState.NeedMore, TlsClientHello.Read(hello.AsSpan(0, i), out _));
        }
    }

    [Fact]
    public async Task AHelloSplitAcrossRecords_IsJoined()
    {
        var hello = await HelloAsync("split.example.org");
        var message = hello.AsSpan(5).ToArray();
        // The same handshake message in records of 7 bytes each, as a client may fragment it.
        var records = message.Chunk(7).SelectMany(part => (byte[])[0x16, 0x03, 0x01, 0, (byte)part.Length, .. part]).ToArray();

        Assert.Equal(HelloState.Complete, TlsClientHello.Read(records, out var name));
        Assert.Equal("split.example.org", name);
    }

    [Theory]
    [InlineData(0, 0x17)]  // application data before any hello
    [InlineData(5, 0x02)]  // a ServerHello, not a ClientHello
    [InlineData(1, 0x02)]  // record version 2.x
    public async Task ADamagedHello_IsMalformed(int at, byte value)
    {
        var hello = await HelloAsync("upstream.test");
        hello[at] = value;

        Assert.Equal(HelloState.Malformed, TlsClientHello.Read(hello, out _));
    }

    [Fact]
    public void EndlessRecords_StopAtTheCap()
    {
        // A message that claims 16 MiB: refused once its length is read, not after 16 MiB.
        byte[] claim = [0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0xff, 0xff, 0xff];
        Assert.Equal(HelloState.Malformed, TlsClientHello.Read(claim, out _));

        var filler = Enumerable.Range(0, 8).SelectMany(_ => (byte[])[0x16, 0x03, 0x01, 0x40, 0x00, .. new byte[0x4000]]).ToArray();
        filler[5] = 0x01; // a ClientHello type, a length past the cap
        filler[6] = 0x01;
        filler[7] = 0xff;
        Assert.Equal(HelloState.Malformed, TlsClientHello.Read(filler, out _));
    }

    /// <summary>A stream that hands out its first write and never answers.</summary>
    private sealed class FirstWrite : Stream
    {
        public TaskCompletionSource<byte[]> Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written.TrySetResult(buffer.ToArray());
            await Task.CompletedTask;
        }

        public override void Write(byte[] buffer, int offset, int count) => Written.TrySetResult(buffer.AsSpan(offset, count).ToArray());

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await _closed.Task.WaitAsync(cancellationToken);
            return 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        protected override void Dispose(bool disposing)
        {
            _closed.TrySetResult();
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
