using System.Runtime.InteropServices;

namespace Hutch.Linux.Interop;

/// <summary>A failed system call: which call, on what, and the errno with its text (strerror).</summary>
public sealed class LinuxException : IOException
{
    public int Errno { get; }

    public LinuxException(string call, int errno, string? subject = null)
        : base($"{call}{(subject is null ? "" : $"({subject})")} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Errno = errno;
        HResult = errno;
    }

    /// <summary>The one errno → exception helper: throws for a -1 result, returns the value otherwise.</summary>
    internal static int ThrowIfFailed(int result, string call, string? subject = null)
    {
        if (result == -1)
        {
            throw new LinuxException(call, Marshal.GetLastPInvokeError(), subject);
        }
        return result;
    }

    /// <summary>Runs a call until it does not fail with EINTR (signal arrived mid-call); -1 otherwise reported.</summary>
    internal static int RetryOnEintr(Func<int> call, string name, string? subject = null)
    {
        while (true)
        {
            var result = call();
            if (result != -1)
            {
                return result;
            }
            var errno = Marshal.GetLastPInvokeError();
            if (errno != Interop.Errno.EINTR)
            {
                throw new LinuxException(name, errno, subject);
            }
        }
    }
}
