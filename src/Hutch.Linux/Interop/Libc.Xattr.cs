using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// Extended attributes on an open fd: fsetxattr(2), fgetxattr(2), flistxattr(2). Only the fd forms:
// a name is never resolved again, so a layer's overlay markers (trusted.overlay.opaque) go on the very
// directory that was opened beneath its root.
internal static unsafe partial class Libc
{
    [LibraryImport(Name, EntryPoint = "fsetxattr", SetLastError = true)]
    internal static partial int Fsetxattr(int fd, byte* name, byte* value, nuint size, int flags);

    [LibraryImport(Name, EntryPoint = "fgetxattr", SetLastError = true)]
    internal static partial nint Fgetxattr(int fd, byte* name, byte* value, nuint size);

    [LibraryImport(Name, EntryPoint = "flistxattr", SetLastError = true)]
    internal static partial nint Flistxattr(int fd, byte* list, nuint size);
}
