using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// lchown(2), getuid(2), getgid(2).
internal static partial class Libc
{
    [LibraryImport(Name, EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int LChown(string path, int uid, int gid);

    [LibraryImport(Name, EntryPoint = "getuid")]
    internal static partial uint GetUid();

    [LibraryImport(Name, EntryPoint = "getgid")]
    internal static partial uint GetGid();
}
