using System.Security.Cryptography;
using Hutch.Client.Local;

namespace Hutch.Client.Sync;

/// <summary>
/// Reads exactly the scanned size of a file and fails, before the last byte is handed on, when its
/// content no longer hashes to the scanned SHA-256: what a push sends is always what it recorded as the
/// baseline, and a tar entry is never shorter or longer than its header says.
/// </summary>
/// <remarks>
/// Reports itself seekable with a fixed <see cref="Length"/> only so that TarWriter can write it into a
/// stream that is not seekable (it asks Length and Position, never seeks).
/// </remarks>
internal sealed class VerifyingReadStream(Stream inner, SyncEntry expected) : ReadOnlyStreamWrapper(inner)
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _read;

    public override bool CanSeek => true;
    public override long Length => expected.Size;

    public override long Position
    {
        get => _read;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var wanted = Wanted(buffer.Length);
        return wanted == 0 ? 0 : Account(buffer, Inner.Read(buffer[..wanted]));
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var wanted = Wanted(buffer.Length);
        if (wanted == 0)
        {
            return 0;
        }
        var read = await Inner.ReadAsync(buffer[..wanted], cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span, read);
    }

    private int Wanted(int room) => (int)Math.Min(room, expected.Size - _read);

    private int Account(Span<byte> buffer, int count)
    {
        if (count == 0)
        {
            throw Changed();
        }
        _hash.AppendData(buffer[..count]);
        _read += count;
        if (_read == expected.Size && !string.Equals(Convert.ToHexStringLower(_hash.GetHashAndReset()), expected.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw Changed();
        }
        return count;
    }

    private SyncException Changed() => new(SyncErrorCodes.LocalChanged,
        $"\"{SyncPath.Escape(expected.Path)}\" changed locally while it was being pushed. Run the push again.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
