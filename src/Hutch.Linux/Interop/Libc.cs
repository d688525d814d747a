namespace Hutch.Linux.Interop;

/// <summary>Shared names for the C library and the errno values Hutch branches on.</summary>
internal static partial class Libc
{
    internal const string Name = "libc";
}

/// <summary>errno values (asm-generic/errno-base.h) that callers handle specially.</summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int ECHILD = 10;
    public const int EPIPE = 32;
    public const int ENOTDIR = 20;
    public const int EEXIST = 17;
    public const int EINVAL = 22;
    public const int ENXIO = 6;
    public const int EXDEV = 18;
    public const int EISDIR = 21;
    public const int ENOTTY = 25;
    public const int EFBIG = 27;
    public const int EROFS = 30;
    public const int EMLINK = 31;
    public const int ENOSPC = 28;
    public const int ERANGE = 34;
    public const int ENAMETOOLONG = 36;
    public const int ENOSYS = 38;
    public const int ENOTEMPTY = 39;
    public const int ENODATA = 61;
    public const int ELOOP = 40;
    public const int EOPNOTSUPP = 95;
    public const int EAFNOSUPPORT = 97;
    public const int ECONNRESET = 104;
    public const int EDQUOT = 122;
}
