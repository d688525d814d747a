using System.Buffers;
using System.Formats.Tar;
using System.Security.Cryptography;
using Hutch.Linux;

namespace Hutch.Runtime.Templates;

/// <summary>
/// An image archive's files, spooled to a private directory in the layer store while the archive is
/// read once, front to back. Spooled because an oci-layout tar may hold its blobs in any order
/// (index.json last, layers before the manifest that names them) and the archive may come from a
/// stream that cannot seek (an upload): one pass that writes each file once, hashing it as it goes,
/// works for both and checks every blob's digest for free. Indexing a seekable file's entry offsets
/// would save that one copy, but needs a second path through the code for streams. The spool sits
/// on the store's file system, so its size is bounded by <see cref="ImageLimits.MaxArchiveBytes"/>
/// and it is removed with this object (or by <see cref="LayerStore.RemoveLeftovers"/> after a crash).
/// Archive names are only dictionary keys here: nothing of the archive names a file on disk.
/// </summary>
internal sealed class SpooledArchive : IDisposable
{
    private const int MaxLinkHops = 8;
    private const int CopyBufferSize = 1 << 20;

    private readonly string _directory;
    private readonly Dictionary<string, SpooledFile> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);

    private SpooledArchive(string directory) => _directory = directory;

    /// <summary>A spooled file: where it is, how long it is and the hex sha256 of its bytes.</summary>
    public sealed record SpooledFile(string Name, string Path, long Size, string Sha256);

    public static async Task<SpooledArchive> ReadAsync(Stream archive, string directory, ImageLimits limits, CancellationToken cancellationToken)
    {
        var spool = new SpooledArchive(directory);
        try
        {
            await spool.FillAsync(archive, limits, cancellationToken).ConfigureAwait(false);
            return spool;
        }
        catch
        {
            spool.Dispose();
            throw;
        }
    }

    /// <summary>The file an archive name stands for, through the archive's own symlinks and hard links; null when there is none.</summary>
    public SpooledFile? Find(string name)
    {
        var current = Normalize(name);
        for (var hop = 0; current is not null && hop <= MaxLinkHops; hop++)
        {
            if (_files.TryGetValue(current, out var file))
            {
                return file;
            }
            if (!_aliases.TryGetValue(current, out current))
            {
                return null;
            }
        }
        return null;
    }

    public void Dispose()
    {
        try
        {
            TreeRemover.Delete(_directory);
        }
        catch (IOException)
        {
            // Left for LayerStore.RemoveLeftovers at the next start.
        }
    }

    private async Task FillAsync(Stream archive, ImageLimits limits, CancellationToken cancellationToken)
    {
        // The archive itself may be gzip-compressed (docker save | gzip); its bytes are counted as read.
        var tar = await LayerInput.OpenAsync(archive, limits.MaxArchiveBytes, cancellationToken, archive: true).ConfigureAwait(false);
        await using (tar.ConfigureAwait(false))
        {
            var reader = new TarReader(tar, leaveOpen: true);
            await using (reader.ConfigureAwait(false))
            {
                var seen = 0;
                while (true)
                {
                    TarEntry? entry;
                    try
                    {
                        entry = await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (LayerInput.IsBroken(e))
                    {
                        throw Broken(e);
                    }
                    if (entry is null)
                    {
                        return;
                    }
                    if (++seen > limits.MaxArchiveEntries)
                    {
                        throw new TemplateException(TemplateErrorCodes.ImageTooLarge,
                            $"the image archive has more than {limits.MaxArchiveEntries} entries; an image archive holds a few metadata files and one blob per layer");
                    }
                    if (Normalize(entry.Name) is not { Length: > 0 } name)
                    {
                        continue;
                    }
                    switch (entry.EntryType)
                    {
                        case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                            _aliases.Remove(name);
                            _files[name] = await SpoolAsync(name, entry.DataStream, seen, cancellationToken).ConfigureAwait(false);
                            break;
                        case TarEntryType.SymbolicLink:
                            // docker save links a layer stored twice to its first copy ("<id>/layer.tar -> ../<other>/layer.tar").
                            var target = Normalize(entry.LinkName.StartsWith('/') ? entry.LinkName : $"{Parent(name)}/{entry.LinkName}");
                            if (target is not null)
                            {
                                _files.Remove(name);
                                _aliases[name] = target;
                            }
                            break;
                        case TarEntryType.HardLink:
                            if (Normalize(entry.LinkName) is { } linked)
                            {
                                _files.Remove(name);
                                _aliases[name] = linked;
                            }
                            break;
                    }
                }
            }
        }
    }

    private async Task<SpooledFile> SpoolAsync(string name, Stream? data, int index, CancellationToken cancellationToken)
    {
        // Named by its position in the archive, never by the archive's name for it.
        var path = Path.Join(_directory, $"{index}");
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long size = 0;
        var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        await using (output.ConfigureAwait(false))
        {
            if (data is not null)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
                try
                {
                    while (true)
                    {
                        int n;
                        try
                        {
                            n = await data.ReadAsync(buffer.AsMemory(0, CopyBufferSize), cancellationToken).ConfigureAwait(false);
                        }
                        catch (Exception e) when (LayerInput.IsBroken(e))
                        {
                            throw Broken(e);
                        }
                        if (n == 0)
                        {
                            break;
                        }
                        sha256.AppendData(buffer, 0, n);
                        await output.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                        size += n;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        return new SpooledFile(name, path, size, Convert.ToHexStringLower(sha256.GetHashAndReset()));
    }

    /// <summary>An archive name as a key: "./" and "/" prefixes and "." components dropped, ".." resolved; null when it climbs out.</summary>
    private static string? Normalize(string name)
    {
        var parts = new List<string>();
        foreach (var part in name.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    return null;
                }
                parts.RemoveAt(parts.Count - 1);
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }
        return string.Join('/', parts);
    }

    private static string Parent(string name) => name.LastIndexOf('/') is var slash and >= 0 ? name[..slash] : "";

    private static TemplateException Broken(Exception e) => new(TemplateErrorCodes.ImageInvalid, e is EndOfStreamException
        ? "the image archive ends in the middle of a file (a truncated upload?); write it again with `docker save`, `buildah push` or `skopeo copy`"
        : $"the image archive is not a valid tar or gzip stream ({e.Message}); give an oci-layout or docker-archive tar", e);
}
