using Hutch.Client;
using Hutch.Client.Local;

namespace Hutch.Cli.Files;

/// <summary>
/// A body streamed from the daemon (a download or an export) whose read failures say where they
/// happened: the connection breaking off mid-body is <c>stream_interrupted</c>, never mistaken for an
/// I/O error of the local file being written.
/// </summary>
internal sealed class RemoteStream(Stream inner) : ReadOnlyStreamWrapper(inner)
{
    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        try
        {
            return Inner.Read(buffer, offset, count);
        }
        catch (IOException e)
        {
            throw Interrupted(e);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await Inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw Interrupted(e);
        }
    }

    private static CliException Interrupted(IOException e) =>
        new(ClientErrorCodes.StreamInterrupted, $"the daemon's stream broke off: {e.Message}");
}
