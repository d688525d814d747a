namespace Hutch.Linux.Interop;

// prctl(2) options used by ProcTree (prctl itself is declared in Libc.Process.cs).
internal static partial class Libc
{
    internal const int PR_SET_CHILD_SUBREAPER = 36;
}
