using System.Formats.Tar;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Runtime.Templates;

/// <summary>
/// Writes a directory in overlayfs's form (an upper directory) as a canonical OCI layer tar: names
/// in ordinal order, each directory before what it holds, pax headers, owners shifted back into the
/// sandbox's ids, whiteouts (character devices 0:0) as ".wh.NAME" and opaque directories
/// (trusted.overlay.opaque = "y") with a ".wh..wh..opq" entry, hard links as tar hard links. The walk
/// opens every entry by name beneath its directory's fd with no symlink followed, so a tree that
/// someone else built cannot send it elsewhere. The same tree gives the same tar, and so the same digest.
/// </summary>
internal sealed class DirectoryTar(string source, int hostIdBase, CancellationToken cancellationToken)
{
    private const int S_IFCHR = 0x2000, S_IFBLK = 0x6000, S_IFIFO = 0x1000;
    private const int MaxMappedId = 65535;
    private const string OpaqueXattr = "trusted.overlay.opaque";
    private const string RedirectXattr = "trusted.overlay.redirect";
    private const string MetacopyXattr = "trusted.overlay.metacopy";
    private const int MaxWarnings = 100;

    private readonly Dictionary<(ulong Device, ulong Inode), string> _linked = [];
    private long _skipped;

    /// <summary>What the walk left out (device nodes, sockets).</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>
    /// Writes the tar to <paramref name="output"/>. Its end-of-archive blocks are written only when the
    /// walk succeeded, so a walk that fails midway never reads as a whole (shorter) layer. Every write
    /// checks the cancellation token, so a walk whose reader gave up stops at its next write.
    /// </summary>
    public void Write(Stream output)
    {
        var writer = new TarWriter(new Stopping(output, cancellationToken), TarEntryFormat.Pax, leaveOpen: true);
        WriteEntries(writer);
        writer.Dispose();
    }

    private void WriteEntries(TarWriter writer)
    {
        using var root = Beneath.OpenRoot(Path.GetFullPath(source));
        var stack = new Stack<Frame>();
        using (var top = OpenDirectory(root, ""))
        {
            stack.Push(new Frame("", Names(top)));
        }
        SafeFileHandle? dir = null;
        string? dirPath = null;
        try
        {
            while (stack.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var frame = stack.Peek();
                if (frame.Next >= frame.Names.Count)
                {
                    stack.Pop();
                    continue;
                }
                var name = frame.Names[frame.Next++];
                // One fd at a time, reopened beneath the root when the walk comes back up: no fd per level of a deep tree.
                if (dirPath != frame.Path)
                {
                    dir?.Dispose();
                    dir = null;
                    dir = OpenDirectory(root, frame.Path);
                    dirPath = frame.Path;
                }
                if (WriteEntry(writer, dir!, frame.Path, name) is { } child)
                {
                    stack.Push(child);
                }
            }
        }
        finally
        {
            dir?.Dispose();
        }
        if (_skipped > 0)
        {
            Warnings.Add($"and {_skipped} more entries skipped for the same reasons");
        }
    }

    /// <summary>Writes one entry; for a directory, returns the frame that walks it.</summary>
    private Frame? WriteEntry(TarWriter writer, SafeFileHandle dir, string parent, string name)
    {
        var path = LayerNames.Join(parent, name);
        if (name.Contains('\uFFFD'))
        {
            throw LayerNames.Invalid(path, "a name is not valid UTF-8, which a layer's tar cannot carry");
        }
        if (name.StartsWith(LayerNames.WhiteoutPrefix, StringComparison.Ordinal))
        {
            throw LayerNames.Invalid(path, $"names starting with '{LayerNames.WhiteoutPrefix}' are reserved for whiteouts");
        }
        var status = At.Stat(dir, name);
        switch (status.Kind)
        {
            case EntryKind.Directory:
            {
                using var child = Beneath.Open(dir, name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
                if (At.GetXattr(child, RedirectXattr) is not null)
                {
                    throw Unsupported(path, "is a directory renamed from a lower layer (an overlayfs redirect)", "redirect_dir=off");
                }
                writer.WriteEntry(Entry(TarEntryType.Directory, path + "/", status));
                if (At.GetXattr(child, OpaqueXattr) is { } opaque && opaque.AsSpan().SequenceEqual("y"u8))
                {
                    writer.WriteEntry(Marker(LayerNames.Join(path, LayerNames.OpaqueMarker), status));
                }
                return new Frame(path, Names(child));
            }
            case EntryKind.File:
            {
                if (status.Links > 1)
                {
                    if (_linked.TryGetValue((status.Device, status.Inode), out var first))
                    {
                        var link = Entry(TarEntryType.HardLink, path, status);
                        link.LinkName = first;
                        writer.WriteEntry(link);
                        return null;
                    }
                    _linked[(status.Device, status.Inode)] = path;
                }
                using var file = Beneath.Open(dir, name, Beneath.O_RDONLY | Beneath.O_NOFOLLOW, noSymlinks: true);
                if (At.GetXattr(file, MetacopyXattr) is not null)
                {
                    throw Unsupported(path, "holds only its metadata (an overlayfs metacopy file)", "metacopy=off");
                }
                using var data = new FileStream(file, FileAccess.Read, bufferSize: 0);
                var entry = Entry(TarEntryType.RegularFile, path, status);
                entry.DataStream = data;
                writer.WriteEntry(entry);
                return null;
            }
            case EntryKind.Symlink:
            {
                var entry = Entry(TarEntryType.SymbolicLink, path, status);
                entry.LinkName = At.ReadLink(dir, name);
                writer.WriteEntry(entry);
                return null;
            }
        }
        switch (status.Type)
        {
            case S_IFCHR when status.SpecialDevice == (0, 0):
                writer.WriteEntry(Marker(LayerNames.Join(parent, LayerNames.WhiteoutPrefix + name), status));
                break;
            case S_IFCHR or S_IFBLK:
                Warn($"skipped the device node '{LayerNames.Shown(path)}': device nodes are never kept in a layer");
                break;
            case S_IFIFO:
                writer.WriteEntry(Entry(TarEntryType.Fifo, path, status));
                break;
            default:
                Warn($"skipped '{LayerNames.Shown(path)}': a socket is not kept in a layer");
                break;
        }
        return null;
    }

    private PaxTarEntry Entry(TarEntryType type, string path, EntryStatus status) => new(type, path)
    {
        Mode = (UnixFileMode)status.Permissions,
        Uid = Shifted(status.Uid),
        Gid = Shifted(status.Gid),
        ModificationTime = DateTimeOffset.UnixEpoch.AddTicks(status.MtimeNs / 100),
    };

    /// <summary>An empty entry standing for a whiteout or an opaque marker, owned by root, with its directory's time.</summary>
    private static PaxTarEntry Marker(string path, EntryStatus status) => new(TarEntryType.RegularFile, path)
    {
        Mode = 0,
        ModificationTime = DateTimeOffset.UnixEpoch.AddTicks(status.MtimeNs / 100),
    };

    private int Shifted(uint id) => id >= (uint)hostIdBase && id - (uint)hostIdBase <= MaxMappedId ? (int)(id - (uint)hostIdBase) : LayerWriter.Nobody;

    private void Warn(string warning)
    {
        if (Warnings.Count < MaxWarnings)
        {
            Warnings.Add(warning);
        }
        else
        {
            _skipped++;
        }
    }

    private static SafeFileHandle OpenDirectory(SafeFileHandle root, string path) =>
        Beneath.Open(root, path, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);

    private static List<string> Names(SafeFileHandle dir) =>
        [.. At.ReadDirectory(dir).Select(entry => entry.Name).Order(StringComparer.Ordinal)];

    private static TemplateException Unsupported(string path, string what, string option) => new(TemplateErrorCodes.LayerUnsupported,
        $"'{LayerNames.Shown(path)}' {what}, which a layer cannot carry; mount the overlay whose upper directory becomes a layer with {option}");

    /// <summary>A write-only stream that passes writes on until its token is cancelled.</summary>
    private sealed class Stopping(Stream inner, CancellationToken cancellationToken) : Stream
    {
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            cancellationToken.ThrowIfCancellationRequested();
            inner.Write(buffer);
        }

        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private sealed class Frame(string path, List<string> names)
    {
        public string Path { get; } = path;
        public List<string> Names { get; } = names;
        public int Next { get; set; }
    }
}
