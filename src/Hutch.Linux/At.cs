using System.Runtime.InteropServices;
using System.Text;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>What an entry is, from its mode bits (S_IFMT) or a directory entry's d_type.</summary>
public enum EntryKind { File, Directory, Symlink, Other }

/// <summary>What statx(2) says of one entry, in the units the file API reports.</summary>
public readonly record struct EntryStatus(
    EntryKind Kind, int Mode, long Size, uint Uid, uint Gid, ulong Inode, uint Links,
    long MtimeNs, long CtimeNs, ulong Device)
{
    /// <summary>Permission bits only (rwx for user/group/other plus setuid/setgid/sticky).</summary>
    public int Permissions => Mode & 0xfff;

    public DateTimeOffset Mtime => DateTimeOffset.FromUnixTimeMilliseconds(MtimeNs / 1_000_000);

    /// <summary>The file type bits (S_IFMT): tells a character device (0x2000) from a FIFO (0x1000), which <see cref="Kind"/> both calls Other.</summary>
    public int Type => Mode & 0xf000;

    /// <summary>For a device node, the device it stands for (st_rdev); (0, 0) for everything else, and for an overlayfs whiteout.</summary>
    public (uint Major, uint Minor) SpecialDevice { get; init; }

    internal static EntryStatus From(in Libc.Statx s) => new(
        KindOf(s.Mode), s.Mode, (long)s.Size, s.Uid, s.Gid, s.Ino, s.Nlink,
        s.MtimeSec * 1_000_000_000 + s.MtimeNsec, s.CtimeSec * 1_000_000_000 + s.CtimeNsec,
        ((ulong)s.DevMajor << 32) | s.DevMinor)
    { SpecialDevice = (s.RdevMajor, s.RdevMinor) };

    internal static EntryKind KindOf(int mode) => (mode & 0xf000) switch
    {
        0x8000 => EntryKind.File,
        0x4000 => EntryKind.Directory,
        0xa000 => EntryKind.Symlink,
        _ => EntryKind.Other,
    };
}

/// <summary>One name in a directory, as getdents64(2) returns it (no stat call yet).</summary>
public readonly record struct DirectoryEntry(string Name, EntryKind Kind);

/// <summary>
/// File operations relative to an open directory, each on a single name that is never a path (no
/// "/" in it): the directory was pinned by <see cref="Beneath"/>, so nothing here resolves a path a
/// sandboxed process could redirect. Written by hand because .NET's file APIs only take paths.
/// </summary>
public static unsafe class At
{
    /// <summary>statx of <paramref name="name"/> in <paramref name="dir"/> (never following a final symlink); "" for the fd itself.</summary>
    public static EntryStatus Stat(SafeFileHandle dir, string name)
    {
        Libc.Statx buffer;
        var flags = Libc.AT_SYMLINK_NOFOLLOW | (name.Length == 0 ? Libc.AT_EMPTY_PATH : 0);
        fixed (byte* p = Name(name))
        {
            Check(Libc.StatxAt(Fd(dir), p, flags, Libc.STATX_BASIC_STATS, &buffer), "statx", name);
        }
        return EntryStatus.From(buffer);
    }

    /// <summary>Like <see cref="Stat"/>, but null when the name does not exist.</summary>
    public static EntryStatus? TryStat(SafeFileHandle dir, string name)
    {
        try
        {
            return Stat(dir, name);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            return null;
        }
    }

    public static void MakeDirectory(SafeFileHandle dir, string name, int mode)
    {
        fixed (byte* p = Name(name))
        {
            Check(Libc.MkdirAt(Fd(dir), p, mode), "mkdirat", name);
        }
    }

    /// <summary>Removes a file or symlink, or with <paramref name="directory"/> an empty directory.</summary>
    public static void Unlink(SafeFileHandle dir, string name, bool directory = false)
    {
        fixed (byte* p = Name(name))
        {
            Check(Libc.UnlinkAt(Fd(dir), p, directory ? Libc.AT_REMOVEDIR : 0), "unlinkat", name);
        }
    }

    /// <summary>renameat2(2): atomic; with <paramref name="noReplace"/> fails with EEXIST instead of replacing.</summary>
    public static void Rename(SafeFileHandle fromDir, string fromName, SafeFileHandle toDir, string toName, bool noReplace = false)
    {
        fixed (byte* from = Name(fromName))
        fixed (byte* to = Name(toName))
        {
            Check(Libc.RenameAt2(Fd(fromDir), from, Fd(toDir), to, noReplace ? Libc.RENAME_NOREPLACE : 0), "renameat2", toName);
        }
    }

    /// <summary>
    /// renameat2(2) with RENAME_EXCHANGE: swaps two existing names atomically, so a replaced tree
    /// (a checkpoint's baseline) is never missing, not even after a crash between two renames.
    /// </summary>
    public static void Exchange(SafeFileHandle dirA, string nameA, SafeFileHandle dirB, string nameB)
    {
        fixed (byte* a = Name(nameA))
        fixed (byte* b = Name(nameB))
        {
            Check(Libc.RenameAt2(Fd(dirA), a, Fd(dirB), b, Libc.RENAME_EXCHANGE), "renameat2", nameB);
        }
    }

    /// <summary>
    /// mknodat(2): a FIFO (mode S_IFIFO | permissions) or a device node. Hutch makes only one device,
    /// the character device 0:0 that overlayfs reads as a whiteout (<paramref name="device"/> 0).
    /// </summary>
    public static void MakeNode(SafeFileHandle dir, string name, int mode, ulong device = 0)
    {
        fixed (byte* p = Name(name))
        {
            Check(Libc.MknodAt(Fd(dir), p, mode, device), "mknodat", name);
        }
    }

    /// <summary>
    /// linkat(2) with AT_EMPTY_PATH: gives the very inode <paramref name="file"/> is open on (an
    /// O_PATH fd is enough) a new name in <paramref name="dir"/>. Linking the fd rather than a path
    /// means the file checked is the file linked. Needs CAP_DAC_READ_SEARCH (the daemon runs as root).
    /// </summary>
    public static void Link(SafeFileHandle file, SafeFileHandle dir, string name)
    {
        var empty = stackalloc byte[1];
        empty[0] = 0;
        fixed (byte* p = Name(name))
        {
            Check(Libc.LinkAt(Fd(file), empty, Fd(dir), p, Libc.AT_EMPTY_PATH), "linkat", name);
        }
    }

    /// <summary>fsetxattr(2): sets the extended attribute <paramref name="attribute"/> of an fd opened for reading or writing (not O_PATH).</summary>
    public static void SetXattr(SafeFileHandle file, string attribute, ReadOnlySpan<byte> value)
    {
        fixed (byte* a = Name(attribute, allowSlash: true))
        fixed (byte* v = value)
        {
            Check(Libc.Fsetxattr(Fd(file), a, v, (nuint)value.Length, 0), "fsetxattr", attribute);
        }
    }

    /// <summary>fgetxattr(2): the value of <paramref name="attribute"/>, or null when the file has none of that name (ENODATA).</summary>
    public static byte[]? GetXattr(SafeFileHandle file, string attribute)
    {
        fixed (byte* a = Name(attribute, allowSlash: true))
        {
            while (true)
            {
                var size = Libc.Fgetxattr(Fd(file), a, null, 0);
                if (size < 0 && Marshal.GetLastPInvokeError() == Errno.ENODATA)
                {
                    return null;
                }
                Check((int)Math.Max(size, -1), "fgetxattr", attribute);
                var value = new byte[size];
                fixed (byte* v = value)
                {
                    var n = Libc.Fgetxattr(Fd(file), a, v, (nuint)value.Length);
                    // ERANGE: it grew between the two calls; ask for its size again.
                    if (n < 0 && Marshal.GetLastPInvokeError() == Errno.ERANGE)
                    {
                        continue;
                    }
                    if (n < 0 && Marshal.GetLastPInvokeError() == Errno.ENODATA)
                    {
                        return null;
                    }
                    Check((int)Math.Max(n, -1), "fgetxattr", attribute);
                    return value[..(int)n];
                }
            }
        }
    }

    /// <summary>flistxattr(2): the names of every extended attribute of an fd opened for reading or writing (not O_PATH).</summary>
    public static List<string> ListXattrs(SafeFileHandle file)
    {
        while (true)
        {
            var size = Libc.Flistxattr(Fd(file), null, 0);
            Check((int)Math.Max(size, -1), "flistxattr");
            var list = new byte[Math.Max(size, 1)];
            fixed (byte* l = list)
            {
                var n = Libc.Flistxattr(Fd(file), l, (nuint)list.Length);
                if (n < 0 && Marshal.GetLastPInvokeError() == Errno.ERANGE)
                {
                    continue;
                }
                Check((int)Math.Max(n, -1), "flistxattr");
                // A run of NUL-terminated names.
                return Encoding.UTF8.GetString(list, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList();
            }
        }
    }

    public static void Symlink(string target, SafeFileHandle dir, string name)
    {
        fixed (byte* t = Name(target, allowSlash: true))
        fixed (byte* p = Name(name))
        {
            Check(Libc.SymlinkAt(t, Fd(dir), p), "symlinkat", name);
        }
    }

    /// <summary>The target of the symlink <paramref name="name"/>, as stored (never resolved).</summary>
    public static string ReadLink(SafeFileHandle dir, string name)
    {
        var buffer = new byte[4096];
        fixed (byte* p = Name(name))
        fixed (byte* b = buffer)
        {
            var n = (int)Libc.ReadlinkAt(Fd(dir), p, b, (nuint)buffer.Length);
            Check(n, "readlinkat", name);
            return Encoding.UTF8.GetString(buffer, 0, n);
        }
    }

    /// <summary>Changes the owner of <paramref name="name"/> (a symlink itself, never its target); "" for the fd itself.</summary>
    public static void Chown(SafeFileHandle dir, string name, int uid, int gid)
    {
        var flags = Libc.AT_SYMLINK_NOFOLLOW | (name.Length == 0 ? Libc.AT_EMPTY_PATH : 0);
        fixed (byte* p = Name(name))
        {
            Check(Libc.FchownAt(Fd(dir), p, uid, gid, flags), "fchownat", name);
        }
    }

    /// <summary>fchmod(2) on an fd opened for reading or writing (not O_PATH).</summary>
    public static void Chmod(SafeFileHandle file, int mode) => Check(Libc.Fchmod(Fd(file), mode), "fchmod");

    /// <summary>Sets access and modification time of <paramref name="name"/> (a symlink itself); "" for the fd itself.</summary>
    public static void SetTimes(SafeFileHandle dir, string name, long mtimeNs)
    {
        var times = stackalloc Libc.Timespec[2];
        times[0] = times[1] = new Libc.Timespec { Sec = mtimeNs / 1_000_000_000, Nsec = mtimeNs % 1_000_000_000 };
        // utimensat has no AT_EMPTY_PATH, and glibc refuses its NULL-path form (EINVAL): futimens(3) is the fd form.
        if (name.Length == 0)
        {
            Check(Libc.Futimens(Fd(dir), times), "futimens");
            return;
        }
        fixed (byte* p = Name(name))
        {
            Check(Libc.UtimensAt(Fd(dir), p, times, Libc.AT_SYMLINK_NOFOLLOW), "utimensat", name);
        }
    }

    /// <summary>Every entry of an open directory (opened for reading, not O_PATH) except "." and "..", read from its start.</summary>
    public static List<DirectoryEntry> ReadDirectory(SafeFileHandle dir)
    {
        // From the start each time: a second read of the same fd sees what was added or removed since.
        Check((int)Math.Max(-1, Libc.Lseek(Fd(dir), 0, 0 /* SEEK_SET */)), "lseek");
        var entries = new List<DirectoryEntry>();
        var buffer = new byte[64 * 1024];
        fixed (byte* b = buffer)
        {
            while (true)
            {
                var n = (int)Libc.Getdents64(Fd(dir), b, (nuint)buffer.Length);
                if (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR)
                {
                    continue;
                }
                Check(n, "getdents64");
                if (n == 0)
                {
                    return entries;
                }
                // struct linux_dirent64: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, char d_name[].
                for (var offset = 0; offset < n;)
                {
                    var reclen = *(ushort*)(b + offset + 16);
                    var type = b[offset + 18];
                    var name = new ReadOnlySpan<byte>(b + offset + 19, reclen - 19);
                    name = name[..name.IndexOf((byte)0)];
                    if (!(name.SequenceEqual("."u8) || name.SequenceEqual(".."u8)))
                    {
                        var text = Encoding.UTF8.GetString(name);
                        // DT_UNKNOWN: some file systems leave the type to a stat call.
                        entries.Add(new DirectoryEntry(text, type == 0 ? Stat(dir, text).Kind : TypeOf(type)));
                    }
                    offset += reclen;
                }
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="target"/> (empty, opened for writing) a copy of <paramref name="source"/>:
    /// a reflink sharing the source's blocks where the file system can (FICLONE: XFS, btrfs), else a
    /// kernel-side copy (copy_file_range). Returns true when it was a reflink.
    /// </summary>
    public static bool CloneOrCopy(SafeFileHandle source, SafeFileHandle target)
    {
        if (Libc.IoctlInt(Fd(target), Libc.FICLONE, Fd(source)) == 0)
        {
            return true;
        }
        while (true)
        {
            var n = (long)Libc.CopyFileRange(Fd(source), null, Fd(target), null, 1 << 30, 0);
            if (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR)
            {
                continue;
            }
            Check((int)Math.Max(n, -1), "copy_file_range");
            if (n == 0)
            {
                return false;
            }
        }
    }

    /// <summary>FICLONE alone: true when <paramref name="target"/> now shares <paramref name="source"/>'s blocks (one file system with reflinks), false when the file system said no.</summary>
    public static bool TryClone(SafeFileHandle source, SafeFileHandle target) => Libc.IoctlInt(Fd(target), Libc.FICLONE, Fd(source)) == 0;

    /// <summary>
    /// sendfile(2) of up to <paramref name="count"/> bytes of <paramref name="source"/> from
    /// <paramref name="offset"/> (moved on by what was copied) to <paramref name="target"/>'s file
    /// position: a copy in the kernel that, unlike copy_file_range, works between any two file systems.
    /// Returns the bytes copied, 0 at the source's end.
    /// </summary>
    public static long SendFile(SafeFileHandle source, SafeFileHandle target, ref long offset, long count)
    {
        while (true)
        {
            long at = offset;
            var n = (long)Libc.Sendfile(Fd(target), Fd(source), &at, (nuint)count);
            if (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR)
            {
                continue;
            }
            Check((int)Math.Max(n, -1), "sendfile");
            offset = at;
            return n;
        }
    }

    /// <summary>Starts writing a range of <paramref name="file"/>'s dirty pages to disk without waiting (sync_file_range WRITE), so a later fsync finds less to do.</summary>
    public static void StartWriteback(SafeFileHandle file, long offset, long length) =>
        Check(Libc.SyncFileRange(Fd(file), offset, length, Libc.SYNC_FILE_RANGE_WRITE), "sync_file_range");

    /// <summary>Flushes a file's data and metadata to disk.</summary>
    public static void Sync(SafeFileHandle file) => Check(Libc.Fsync(Fd(file)), "fsync");

    /// <summary>
    /// Flushes the whole file system that holds <paramref name="file"/> (syncfs(2)); fails when any
    /// write-back on it failed since <paramref name="file"/> was opened (Linux 5.8+).
    /// </summary>
    public static void SyncFileSystem(SafeFileHandle file) => Check(Libc.Syncfs(Fd(file)), "syncfs");

    private static int Fd(SafeFileHandle handle) => (int)handle.DangerousGetHandle();

    private static byte[] Name(string name, bool allowSlash = false)
    {
        if (name.Contains('\0') || (!allowSlash && name.Contains('/')))
        {
            throw new ArgumentException($"'{name}' is not a single file name", nameof(name));
        }
        return Encoding.UTF8.GetBytes(name + "\0");
    }

    private static EntryKind TypeOf(byte dtype) => dtype switch
    {
        8 => EntryKind.File,        // DT_REG
        4 => EntryKind.Directory,   // DT_DIR
        10 => EntryKind.Symlink,    // DT_LNK
        _ => EntryKind.Other,
    };

    private static void Check(int result, string call, string? subject = null) => LinuxException.ThrowIfFailed(result, call, subject);
}
