using Hutch.Linux.Interop;

namespace Hutch.Linux;

/// <summary>Ownership changes (lchown(2): never follows a symlink).</summary>
public static class FileOwner
{
    public static void Change(string path, int uid, int gid) =>
        LinuxException.ThrowIfFailed(Libc.LChown(path, uid, gid), "lchown", path);
}
