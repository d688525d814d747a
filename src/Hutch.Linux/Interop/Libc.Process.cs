using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

// Process control: kill(2), waitpid(2), prctl(2), getpid(2), execv(3).
internal static partial class Libc
{
    internal const int WNOHANG = 1;
    internal const int PR_SET_DUMPABLE = 4;
    internal const int PR_SET_PDEATHSIG = 1;

    [LibraryImport(Name, EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);

    [LibraryImport(Name, EntryPoint = "waitpid", SetLastError = true)]
    internal static partial int WaitPid(int pid, out int status, int options);

    [LibraryImport(Name, EntryPoint = "prctl", SetLastError = true)]
    internal static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [LibraryImport(Name, EntryPoint = "getpid")]
    internal static partial int GetPid();

    /// <summary>argv ends with a null element, as execv wants; the environment is this process's.</summary>
    [LibraryImport(Name, EntryPoint = "execv", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Execv(string path, string?[] argv);
}
