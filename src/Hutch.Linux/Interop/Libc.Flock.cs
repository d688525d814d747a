using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// flock(2): an advisory lock on an open file description, released when its last fd closes (or the
// process dies), so a crashed holder never leaves a stale lock behind. The lock file is opened with
// open(2) itself: .NET's FileStream takes a flock of its own on open (LOCK_SH), which would refuse
// a second opener with a sharing error instead of letting it ask.
internal static partial class Libc
{
    internal const int LOCK_EX = 2;
    internal const int LOCK_NB = 4;
    internal const int LOCK_UN = 8;
    internal const int O_CREAT = 0x40;

    [LibraryImport(Name, EntryPoint = "flock", SetLastError = true)]
    internal static partial int Flock(int fd, int operation);

    /// <summary>open(2) with its mode (the variadic argument, passed as Linux ABIs pass a fixed one).</summary>
    [LibraryImport(Name, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode);
}
