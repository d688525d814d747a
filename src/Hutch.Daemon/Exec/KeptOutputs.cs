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
    /// Where one stream of a kept output is, the part of it to send (from <paramref name="offset"/>, at
    /// most <paramref name="limit"/> bytes) and the stream's whole length.
    /// </summary>
    public (string Path, long Offset, long Count, long Length) Locate(string idOrName, string outputId, string stream, long offset, long? limit)
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
        var path = Path.Join(storage.OutputsDirectoryOf(record), outputId, stream);
        var length = new FileInfo(path).Length;
        var start = Math.Min(offset, length);
        return (path, start, Math.Min(limit ?? long.MaxValue, length - start), length);
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
}
