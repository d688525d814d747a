using System.Runtime.InteropServices;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>
/// Sockets that live in another process's network namespace. A socket belongs to the namespace it
/// was created in for its whole life (socket(7), network_namespaces(7)), so a socket created while
/// one thread briefly sits in a sandbox's namespace connects to that sandbox's 127.0.0.1 from
/// anywhere, and the sandbox itself gains no route out.
/// </summary>
public static class NetworkNamespace
{
    /// <summary>
    /// Pins a process with a pidfd: the descriptor keeps meaning that process even if it dies and
    /// its pid is reused, so check who owns the pid after opening, then use the pidfd.
    /// </summary>
    /// <exception cref="LinuxException">ESRCH when no process has the pid.</exception>
    public static SafeFileHandle OpenProcess(int pid)
    {
        var fd = LinuxException.ThrowIfFailed(Libc.PidfdOpen(pid), "pidfd_open", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>
    /// A TCP (IPv4) socket, close-on-exec and not yet connected, in the network namespace of the
    /// process <paramref name="process"/> (a pidfd) refers to. Needs CAP_SYS_ADMIN over that namespace.
    /// The namespace switch happens on a dedicated, short-lived OS thread: setns(2) changes only the
    /// calling thread, and no pool thread may ever run managed work in a sandbox's namespace. The
    /// caller awaits that thread's result instead of joining it, so no pool thread blocks either.
    /// </summary>
    /// <param name="process">A pidfd; the caller keeps it open until the task completes.</param>
    /// <returns>The socket; the caller owns it.</returns>
    /// <exception cref="LinuxException">ESRCH when the process has exited since it was pinned.</exception>
    public static Task<System.Net.Sockets.Socket> CreateTcpSocketInAsync(SafeFileHandle process)
    {
        // Continuations run on the pool, never inline on the namespace thread (which must end as soon as it is done).
        var result = new TaskCompletionSource<System.Net.Sockets.Socket>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                result.SetResult(ToSocket(CreateOnThisThread(process)));
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        }, maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = "hutch-netns",
        };
        thread.UnsafeStart(); // no ExecutionContext flows in: nothing of the caller's runs there
        return result.Task;
    }

    /// <summary>
    /// Hands the descriptor over to a Socket, which then owns it alone. Wrapping a descriptor that
    /// another SafeHandle still owns closes it twice: the second close, at that handle's finalization,
    /// hits whatever reused the number (a test did this, and other tests' reads failed with EBADF).
    /// </summary>
    private static System.Net.Sockets.Socket ToSocket(SafeFileHandle fd)
    {
        var raw = fd.DangerousGetHandle();
        fd.SetHandleAsInvalid();
        return new System.Net.Sockets.Socket(new System.Net.Sockets.SafeSocketHandle(raw, ownsHandle: true));
    }

    private static SafeFileHandle CreateOnThisThread(SafeFileHandle process)
    {
        // Our own namespace, opened before leaving it, to come back to.
        using var home = File.OpenHandle("/proc/thread-self/ns/net", FileMode.Open, FileAccess.Read);
        var addRef = false;
        process.DangerousAddRef(ref addRef);
        try
        {
            LinuxException.ThrowIfFailed(Libc.Setns((int)process.DangerousGetHandle(), Libc.CLONE_NEWNET), "setns(CLONE_NEWNET)");
        }
        finally
        {
            process.DangerousRelease();
        }
        var fd = Libc.Socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0);
        var errno = Marshal.GetLastPInvokeError();
        if (Libc.Setns((int)home.DangerousGetHandle(), Libc.CLONE_NEWNET) != 0)
        {
            // Cannot happen for root going back to where it came from; if it does, this thread must
            // never run anything else, and the runtime must not reuse it: stop the process.
            Environment.FailFast($"setns back to the daemon's network namespace failed (errno {Marshal.GetLastPInvokeError()})");
        }
        if (fd < 0)
        {
            throw new LinuxException("socket(AF_INET, SOCK_STREAM)", errno);
        }
        return new SafeFileHandle(fd, ownsHandle: true);
    }
}
