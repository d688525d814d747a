using System.Buffers;

namespace Hutch.Daemon.Commands;

/// <summary>
/// One stream of a command's collected output (a sync exec's or a session command's stdout or
/// stderr). A caller may set the output cap up to 1 GiB, and that must never become memory the
/// daemon holds: the first <see cref="MemoryBudget"/> bytes stay in memory (what nearly every
/// command prints), the rest goes to a file of the daemon's own (0600, in a 0700 directory never in
/// a sandbox's reach: its staging directory, so the sandbox's disk quota pays for it), unlinked as
/// soon as it is open, so it is gone when this is disposed and a crashed daemon leaves nothing
/// behind. When that disk is full the rest is dropped and <see cref="Lost"/> says so. Read it back
/// in chunks with <see cref="Chunks"/>.
/// </summary>
/// <param name="spillDirectory">Where to spill, asked only when the budget is outgrown.</param>
public sealed class OutputBuffer(Func<string> spillDirectory, int memoryBudget = OutputBuffer.MemoryBudget) : IDisposable
{
    /// <summary>Bytes kept in memory per stream before spilling to disk.</summary>
    public const int MemoryBudget = 1 << 20;

    /// <summary>The size of the pieces <see cref="Chunks"/> hands out from a spilled buffer.</summary>
    public const int ChunkSize = 64 << 10;

    /// <summary>
    /// The in-memory part, rented from the shared pool and grown by doubling (the old block goes
    /// back): a growing MemoryStream left a trail of large-object garbage behind every command and log
    /// window, which a busy daemon's RSS showed (+168 to +274 MiB reading 16 MiB windows under load).
    /// </summary>
    private byte[]? _memory = [];
    private FileStream? _spill;

    public long Length { get; private set; }

    /// <summary>True once the output outgrew the memory budget and lives in a file.</summary>
    public bool Spilled => _spill is not null;

    /// <summary>True when output was dropped because the spill file could not take it (disk full, quota): the result is truncated.</summary>
    public bool Lost { get; private set; }

    /// <summary>
    /// Appends. Synchronous on purpose: a write lands in the page cache, and the callers are loops
    /// that must not interleave two writes.
    /// </summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_memory is null && _spill is null, this);
        if (Lost)
        {
            return;
        }
        try
        {
            if (_spill is null && Length + data.Length > memoryBudget)
            {
                var spill = OpenSpill(spillDirectory());
                RandomAccess.Write(spill.SafeFileHandle, _memory.AsSpan(0, (int)Length), 0);
                _spill = spill;
                ReturnMemory();
            }
            if (_spill is not null)
            {
                RandomAccess.Write(_spill.SafeFileHandle, data, Length);
            }
            else
            {
                EnsureRoom((int)Length + data.Length);
                data.CopyTo(_memory.AsSpan((int)Length));
            }
            Length += data.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // What was kept stays readable; the rest of the output is dropped, and the result says truncated.
            Lost = true;
        }
    }

    /// <summary>The bytes in order, in pieces of at most <see cref="ChunkSize"/> (each valid until the next is asked for).</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Chunks()
    {
        if (_spill is null)
        {
            var all = _memory.AsMemory(0, (int)Length);
            for (var offset = 0; offset < all.Length; offset += ChunkSize)
            {
                yield return all.Slice(offset, Math.Min(ChunkSize, all.Length - offset));
            }
            yield break;
        }
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            for (long offset = 0; offset < Length;)
            {
                var n = RandomAccess.Read(_spill.SafeFileHandle, buffer.AsSpan(0, (int)Math.Min(ChunkSize, Length - offset)), offset);
                if (n == 0)
                {
                    throw new IOException($"the output spill file ended at {offset} of {Length} bytes");
                }
                offset += n;
                yield return buffer.AsMemory(0, n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>All of it as one array: only for callers that set a small cap themselves (a service's probe).</summary>
    public byte[] ToArray()
    {
        var all = new byte[Length];
        var at = 0;
        foreach (var chunk in Chunks())
        {
            chunk.Span.CopyTo(all.AsSpan(at));
            at += chunk.Length;
        }
        return all;
    }

    public void Dispose()
    {
        _spill?.Dispose();
        _spill = null;
        ReturnMemory();
    }

    private void EnsureRoom(int needed)
    {
        if (_memory!.Length >= needed)
        {
            return;
        }
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(Math.Max(needed, _memory.Length * 2), Math.Max(memoryBudget, needed)));
        _memory.AsSpan(0, (int)Length).CopyTo(bigger);
        ReturnMemory();
        _memory = bigger;
    }

    private void ReturnMemory()
    {
        if (_memory is { Length: > 0 } block)
        {
            ArrayPool<byte>.Shared.Return(block);
        }
        _memory = null;
    }

    private static FileStream OpenSpill(string directory)
    {
        Directory.CreateDirectory(directory, PrivateFiles.DirectoryMode);
        var path = Path.Join(directory, $"out-{Guid.NewGuid():N}");
        var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            BufferSize = 0,
            UnixCreateMode = PrivateFiles.FileMode,
        });
        // Unlinked at once: the open descriptor keeps the data until Dispose, and no crash can leave it behind.
        File.Delete(path);
        return file;
    }
}
