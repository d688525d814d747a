namespace Hutch.Daemon.Exec;

/// <summary>
/// Everything one command prints, beside the result that its cap cuts: "no limit silently loses
/// output". The first <see cref="MemoryBudget"/> bytes stay in memory, where nearly every command's
/// output ends (and is forgotten with the command, never touching the disk); past that both streams
/// go to files in a directory of the sandbox's kept outputs (<see cref="KeptOutputs"/>), which stays
/// only if the command's result was truncated (<see cref="Keep"/>) and is deleted otherwise.
/// At most the cap plus <see cref="BeyondCap"/>, and what the sandbox's disk quota takes: the rest is counted as
/// dropped, and said.
/// </summary>
/// <param name="newDirectory">Makes the directory of a new kept output, asked only when it is needed; returns its id and path.</param>
/// <param name="cap">The command's maxOutputBytes: what is kept is at most that and <see cref="BeyondCap"/> more.</param>
public sealed class KeptOutput(Func<(string Id, string Path)> newDirectory, long cap) : IDisposable
{
    public const int MemoryBudget = 1 << 20;

    /// <summary>
    /// How much past its cap a command's output is kept: a bound, so that an endless `yes` writes
    /// 272 MiB (at the default cap) to its sandbox's disk, not all it prints until its timeout.
    /// </summary>
    public const long BeyondCap = 256L << 20;

    private readonly long _maxBytes = cap + BeyondCap;

    /// <summary>The most of each stream's end a truncated result repeats (its tail).</summary>
    public const int TailBytes = 64 << 10;

    public static readonly string[] StreamNames = ["stdout", "stderr"];

    private readonly MemoryStream[] _memory = [new(), new()];
    private readonly FileStream?[] _files = new FileStream?[2];
    private readonly long[] _bytes = new long[2];
    private (string Id, string Path)? _directory;
    private bool _kept;
    private bool _failed;

    public long Dropped { get; private set; }

    public long BytesOf(OutputStream stream) => _bytes[(int)stream];

    public void Write(OutputStream stream, ReadOnlySpan<byte> data)
    {
        var i = (int)stream;
        if (_failed || _bytes[0] + _bytes[1] + data.Length > _maxBytes)
        {
            Dropped += data.Length;
            return;
        }
        try
        {
            if (_directory is null && _memory[0].Length + _memory[1].Length + data.Length > MemoryBudget)
            {
                Materialize();
            }
            if (_files[i] is { } file)
            {
                file.Write(data);
            }
            else
            {
                _memory[i].Write(data);
            }
            _bytes[i] += data.Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The sandbox's quota (or the disk) is full: keep what is kept, count the rest.
            _failed = true;
            Dropped += data.Length;
        }
    }

    /// <summary>
    /// The last bytes of a stream (up to <see cref="TailBytes"/>) after its first <paramref name="skip"/>:
    /// what a truncated result did not hold of its end.
    /// </summary>
    public byte[] Tail(OutputStream stream, long skip)
    {
        var i = (int)stream;
        var length = Math.Max(0, Math.Min(TailBytes, _bytes[i] - skip));
        var tail = new byte[length];
        if (length == 0)
        {
            return tail;
        }
        if (_files[i] is { } file)
        {
            file.Flush();
            RandomAccess.Read(file.SafeFileHandle, tail, _bytes[i] - length);
        }
        else
        {
            _memory[i].GetBuffer().AsSpan((int)(_bytes[i] - length), (int)length).CopyTo(tail);
        }
        return tail;
    }

    /// <summary>
    /// Keeps it (on disk, from now until the sandbox goes or newer ones push it out); returns its id,
    /// or null when the disk cannot take it at all.
    /// </summary>
    public string? Keep()
    {
        try
        {
            if (_directory is null)
            {
                Materialize();
            }
            foreach (var file in _files)
            {
                file?.Flush();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _failed = true;
            if (_directory is null)
            {
                return null;
            }
        }
        _kept = true;
        return _directory!.Value.Id;
    }

    private void Materialize()
    {
        _directory = newDirectory();
        for (var i = 0; i < 2; i++)
        {
            // Read and write: a truncated result's tail is read back from it.
            _files[i] = new FileStream(Path.Join(_directory.Value.Path, StreamNames[i]), new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.ReadWrite,
                UnixCreateMode = PrivateFiles.FileMode,
            });
            _files[i]!.Write(_memory[i].GetBuffer().AsSpan(0, (int)_memory[i].Length));
            _memory[i].Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var file in _files)
        {
            file?.Dispose();
        }
        if (!_kept && _directory is { } directory)
        {
            try
            {
                Directory.Delete(directory.Path, recursive: true);
            }
            catch (IOException)
            {
                // Gone already (the sandbox was deleted under the command).
            }
        }
    }
}
