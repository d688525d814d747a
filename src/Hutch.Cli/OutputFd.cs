using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Cli;

/// <summary>
/// hutch's stdout or stderr as bytes, written with write(2). Not .NET's console stream, which ignores
/// EPIPE (so `hutch exec … | head` poured a command's output into a closed pipe forever), and not a
/// FileStream, which writes a file with pwrite and leaves the fd's offset behind (so a later writer to
/// the same `> file` overwrites us). A closed reader is an IOException with HResult EPIPE: see
/// <see cref="Is(Exception)"/>.
/// </summary>
internal sealed class OutputFd(int fd) : Stream
{
    private readonly SafeFileHandle _fd = new(fd, ownsHandle: false);

    /// <summary>Whether a failed write means the reader of hutch's output has gone (EPIPE), as `| head` does once it has its lines.</summary>
    public static bool Is(Exception e) => e is IOException { HResult: Errno.EPIPE };

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (!Fds.WriteAll(_fd, buffer))
        {
            throw new IOException($"the reader of hutch's fd {fd} has gone (broken pipe)", Errno.EPIPE);
        }
    }

    // Synchronous, as a terminal write is: the pump writes one chunk at a time anyway, and a write
    // blocked on a reader that does not read is left behind when a signal ends hutch.
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
