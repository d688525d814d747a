using System.Formats.Tar;
using Hutch.Linux;
using Hutch.Linux.Interop;

namespace Hutch.Runtime.Templates;

/// <summary>A directory on a COPY's way that the layer repeats, with what it is in the layers below (mode, owner).</summary>
public sealed record LayerDirectory(string Path, int Mode, int Uid, int Gid);

/// <summary>
/// The layer of a Dockerfile's COPY or ADD: the context's files at their destination, as one
/// canonical tar (ordinal order, times at the epoch, the given owner), so the same files make the
/// same layer and the same cache key. The directories on the destination's way are written as the
/// layers below have them: an overlay takes a directory's mode and owner from its uppermost layer,
/// so writing them afresh (0755 root) would change an existing /app's owner.
/// </summary>
public static class CopyLayer
{
    public static async Task WriteAsync(Stream output, BuildContext context, IReadOnlyList<(ContextEntry Entry, string Destination)> files,
        IReadOnlyList<LayerDirectory> parents, (int Uid, int Gid)? owner, int? mode, CancellationToken cancellationToken)
    {
        await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        var written = new HashSet<string>(StringComparer.Ordinal);
        foreach (var parent in parents)
        {
            if (written.Add(parent.Path))
            {
                await writer.WriteEntryAsync(Entry(TarEntryType.Directory, parent.Path + "/", parent.Mode, parent.Uid, parent.Gid), cancellationToken).ConfigureAwait(false);
            }
        }
        foreach (var (entry, destination) in files.OrderBy(f => f.Destination, StringComparer.Ordinal))
        {
            if (!written.Add(destination))
            {
                continue;
            }
            var (uid, gid) = owner ?? (0, 0);
            var type = entry.Type;
            var bits = mode ?? entry.Mode;
            var tar = Entry(type, type == TarEntryType.Directory ? destination + "/" : destination, bits, uid, gid);
            if (type == TarEntryType.SymbolicLink)
            {
                tar.LinkName = entry.LinkTarget!;
            }
            else if (type == TarEntryType.RegularFile)
            {
                tar.DataStream = context.Open(entry);
            }
            await writer.WriteEntryAsync(tar, cancellationToken).ConfigureAwait(false);
        }
    }

    private static PaxTarEntry Entry(TarEntryType type, string name, int mode, int uid, int gid) =>
        // Only the path in the extended header: .NET would add atime and ctime of now otherwise.
        new(type, name, new Dictionary<string, string> { ["path"] = name, ["mtime"] = "0" })
        {
            Mode = (UnixFileMode)(mode & 0xfff),
            Uid = uid,
            Gid = gid,
            ModificationTime = DateTimeOffset.UnixEpoch,
        };

    /// <summary>
    /// What <paramref name="path"/> is in a stack of layers (topmost first), as overlayfs would show
    /// it, for a directory on a COPY's way: the first layer that has it decides; a whiteout there, or
    /// anything but a directory, means it is not a directory. Each layer is opened beneath its root
    /// with no symlink followed (a layer whose path goes through a link has it not as a directory).
    /// </summary>
    /// <returns>Its status in the layer that decides; null when no layer shows it.</returns>
    public static EntryStatus? Lookup(IReadOnlyList<string> layersTopFirst, string path)
    {
        foreach (var layer in layersTopFirst)
        {
            using var root = Beneath.OpenRoot(layer);
            try
            {
                using var found = Beneath.Open(root, path, Beneath.O_PATH | Beneath.O_NOFOLLOW, noSymlinks: true);
                var status = At.Stat(found, "");
                // A whiteout (character device 0:0) hides the path from here down.
                return status.Type == 0x2000 && status.SpecialDevice == (0, 0) ? null : status;
            }
            catch (LinuxException e) when (e.Errno is Errno.ENOENT)
            {
            }
            catch (Exception e) when (e is ContainmentException or LinuxException)
            {
                // A link or file on the way in this layer: the path is no directory here, and lower layers are hidden.
                return null;
            }
        }
        return null;
    }

    /// <summary>A small regular file of the image (/etc/passwd), read from the uppermost layer that has it, never through a link; null when none has it.</summary>
    public static string? ReadText(IReadOnlyList<string> layersTopFirst, string path, int maxBytes)
    {
        foreach (var layer in layersTopFirst)
        {
            using var root = Beneath.OpenRoot(layer);
            try
            {
                using var found = Beneath.Open(root, path, Beneath.O_PATH | Beneath.O_NOFOLLOW, noSymlinks: true);
                var status = At.Stat(found, "");
                if (status.Kind != EntryKind.File)
                {
                    return null;
                }
                using var file = Beneath.Open(root, path, Beneath.O_RDONLY | Beneath.O_NOFOLLOW | Beneath.O_NONBLOCK, noSymlinks: true);
                using var stream = new FileStream(file, FileAccess.Read);
                var buffer = new byte[Math.Min(maxBytes, (int)Math.Min(status.Size, maxBytes))];
                stream.ReadExactly(buffer);
                return System.Text.Encoding.UTF8.GetString(buffer);
            }
            catch (LinuxException e) when (e.Errno is Errno.ENOENT)
            {
            }
            catch (Exception e) when (e is ContainmentException or LinuxException)
            {
                return null;
            }
        }
        return null;
    }
}
