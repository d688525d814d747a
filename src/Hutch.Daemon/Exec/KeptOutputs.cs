using System.Security.Cryptography;
using Hutch.Daemon.Registry;

namespace Hutch.Daemon.Exec;

/// <summary>
/// The whole outputs of a sandbox's truncated execs (<see cref="KeptOutput"/>): where they are made,
/// how many stay, and reading one back from an offset. Each is a directory <c>out-XXXXXXXXXXXX</c>
/// holding <c>stdout</c> and <c>stderr</c> (0600, in 0700 directories of the daemon's, on the
/// sandbox's disk quota and out of its reach: beside its workspace). The last
/// <see cref="MaxPerSandbox"/> stay, until the sandbox is deleted.
/// </summary>
public sealed class KeptOutputs(SandboxDirectory directory, SandboxStorage storage)
{
    public const int MaxPerSandbox = 8;

    private const string Prefix = "out-";
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A new command's output, of a sandbox found live, cut at <paramref name="cap"/> in its result.</summary>
    public KeptOutput Begin(SandboxRecord record, long cap) => new(() => NewDirectory(record), cap);

    /// <summary>The route that reads one stream of a kept output.</summary>
    public static string Route(string sandboxId, string outputId, OutputStream stream) =>
        $"/v1/sandboxes/{sandboxId}/exec/outputs/{outputId}/{KeptOutput.StreamNames[(int)stream]}";

    /// <summary>
    /// One stream of a kept output from <paramref name="offset"/>, at most <paramref name="limit"/> bytes
    /// (the caller disposes it), and the stream's whole length.
    /// </summary>
    public (Stream Content, long Length) Open(string idOrName, string outputId, string stream, long offset, long? limit)
    {
        var record = directory.Find(idOrName);
        var index = Array.IndexOf(KeptOutput.StreamNames, stream);
        if (index < 0)
        {
            throw new HutchException(ErrorCodes.InvalidRequest, $"A kept output has 'stdout' and 'stderr', not '{stream}'.");
        }
        if (offset < 0 || limit is < 0)
        {
            throw new HutchException(ErrorCodes.InvalidCursor, "offset and limit must be 0 or more.");
        }
        if (!IsId(outputId) || !File.Exists(Path.Join(storage.OutputsDirectoryOf(record), outputId, stream)))
        {
            throw new HutchException(ErrorCodes.OutputNotFound,
                $"Sandbox {record.Id} keeps no output {outputId}. Only an exec whose output was truncated keeps it (its result's fullOutput names it), and only the last {MaxPerSandbox} stay.");
        }
        var file = new FileStream(Path.Join(storage.OutputsDirectoryOf(record), outputId, stream), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var length = file.Length;
        file.Position = Math.Min(offset, length);
        return (limit is { } l ? new BoundedStream(file, l) : file, length);
    }

    private static bool IsId(string id) =>
        id.Length == Prefix.Length + 12 && id.StartsWith(Prefix, StringComparison.Ordinal) && id.AsSpan(Prefix.Length).IndexOfAnyExcept(Alphabet) < 0;

    private (string Id, string Path) NewDirectory(SandboxRecord record)
    {
        var root = storage.OutputsDirectoryOf(record);
        Directory.CreateDirectory(root, PrivateFiles.DirectoryMode);
        // The oldest go first, so that with this one at most MaxPerSandbox stay.
        var existing = new DirectoryInfo(root).GetDirectories(Prefix + "*").OrderByDescending(d => d.LastWriteTimeUtc).ToList();
        foreach (var old in existing.Skip(MaxPerSandbox - 1))
        {
            try
            {
                old.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Another exec pruned it first.
            }
        }
        var id = Prefix + RandomNumberGenerator.GetString(Alphabet, 12);
        var path = Path.Join(root, id);
        Directory.CreateDirectory(path, PrivateFiles.DirectoryMode);
        return (id, path);
    }

    /// <summary>A read of at most a given number of bytes of a file.</summary>
    private sealed class BoundedStream(Stream inner, long limit) : Stream
    {
        private long _left = limit;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = inner.Read(buffer, offset, (int)Math.Min(count, _left));
            _left -= n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken).ConfigureAwait(false);
            _left -= n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
