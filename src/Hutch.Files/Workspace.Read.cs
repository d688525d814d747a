using Hutch.Linux;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files;

// Reading: stat, open for streaming, and small reads for the JSON API.
public sealed partial class Workspace
{
    /// <summary>The entry at <paramref name="path"/>; a final symlink is described, not followed.</summary>
    public FileEntry Stat(string path)
    {
        var relative = WorkspacePath.Relative(path);
        var (parent, name) = WorkspacePath.Split(relative);
        if (relative.Length == 0)
        {
            return Guard(path, () => Describe(_root, "", "", At.Stat(_root, "")));
        }
        using var dir = Guard(path, () => Beneath.Open(_root, parent, Beneath.O_PATH | Beneath.O_DIRECTORY));
        return Guard(path, () => Describe(dir, name, relative, At.Stat(dir, name)));
    }

    /// <summary>
    /// Opens a regular file for reading. Symlinks are followed only while they stay inside the
    /// workspace (the kernel refuses the rest). A FIFO or device is refused without blocking:
    /// it is opened non-blocking and checked before any read.
    /// </summary>
    public FileStream OpenRead(string path, out long size)
    {
        var relative = WorkspacePath.Relative(path);
        var handle = Guard(path, () => Beneath.Open(_root, relative, Beneath.O_RDONLY | Beneath.O_NONBLOCK | Beneath.O_NOCTTY));
        try
        {
            var status = Guard(path, () => At.Stat(handle, ""));
            if (status.Kind != EntryKind.File)
            {
                throw new WorkspaceException(status.Kind == EntryKind.Directory ? ErrorCodes.IsADirectory : ErrorCodes.NotAFile,
                    status.Kind == EntryKind.Directory
                        ? $"'{Errors.Shorten(path)}' is a directory. List it, or export it as a tar."
                        : $"'{Errors.Shorten(path)}' is not a regular file (a FIFO, socket or device), so it cannot be read.");
            }
            size = status.Size;
            return new FileStream(handle, FileAccess.Read, bufferSize: 0);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Reads bytes of a file for the JSON API: the whole file, or a range, never more than <paramref name="maxBytes"/>.</summary>
    public (byte[] Bytes, long Size) ReadBytes(string path, long offset, long? length, long maxBytes)
    {
        if (offset < 0 || length < 0)
        {
            throw new WorkspaceException(ErrorCodes.InvalidRequest, "offset and length must not be negative.");
        }
        using var stream = OpenRead(path, out var size);
        var available = Math.Max(0, size - offset);
        var wanted = Math.Min(length ?? available, available);
        if (wanted > maxBytes)
        {
            throw new WorkspaceException(ErrorCodes.FileTooLarge, $"'{Errors.Shorten(path)}' has {wanted} bytes to return, more than the limit of {maxBytes}. Read a range with offset and length, or download it as a stream.");
        }
        var bytes = new byte[wanted];
        var done = 0;
        while (done < wanted)
        {
            var n = RandomAccess.Read(stream.SafeFileHandle, bytes.AsSpan(done), offset + done);
            if (n == 0)
            {
                Array.Resize(ref bytes, done);   // the file shrank meanwhile
                break;
            }
            done += n;
        }
        return (bytes, size);
    }

    internal SafeFileHandle Root => _root;
}
