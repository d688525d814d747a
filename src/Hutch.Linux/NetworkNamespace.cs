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
    /// Runs <paramref name="work"/> in the network namespace of the process <paramref name="process"/>
    /// (a pidfd) refers to, and returns its result. Needs CAP_SYS_ADMIN over that namespace.
    /// The namespace switch happens on a dedicated, short-lived OS thread: setns(2) changes only the
    /// calling thread, and no pool thread may ever run managed work in a sandbox's namespace. The
    /// caller awaits that thread's result instead of joining it, so no pool thread blocks either.
    /// What <paramref name="work"/> creates there stays there: a socket (socket(7), network_namespaces(7))
    /// or a child process it starts (fork and posix_spawn copy the calling thread's namespaces).
    /// <paramref name="work"/> must not await: its continuation would run elsewhere, in the daemon's namespace.
    /// </summary>
    /// <param name="process">A pidfd, or an open namespace file (/run/netns/NAME, /proc/PID/ns/net); the caller keeps it open until the task completes.</param>
    /// <exception cref="LinuxException">ESRCH when the process has exited since it was pinned.</exception>
    public static Task<T> RunInAsync<T>(SafeFileHandle process, Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(work);
        // Continuations run on the pool, never inline on the namespace thread (which must end as soon as it is done).
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                result.SetResult(RunOnThisThread(process, work));
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
    /// A TCP (IPv4) socket, close-on-exec and not yet connected, in the network namespace of the
    /// process <paramref name="process"/> (a pidfd) refers to (see <see cref="RunInAsync"/>).
    /// </summary>
    /// <param name="process">A pidfd; the caller keeps it open until the task completes.</param>
    /// <returns>The socket; the caller owns it.</returns>
    /// <exception cref="LinuxException">ESRCH when the process has exited since it was pinned.</exception>
    public static Task<System.Net.Sockets.Socket> CreateTcpSocketInAsync(SafeFileHandle process) =>
        RunInAsync(process, () => ToSocket(new SafeFileHandle(
            LinuxException.ThrowIfFailed(Libc.Socket(Libc.AF_INET, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0), "socket(AF_INET, SOCK_STREAM)"),
            ownsHandle: true)));

    /// <summary>
    /// Where an accepted connection was going before the sandbox's nftables rules redirected it to
    /// the listener: SO_ORIGINAL_DST (SOL_IP, struct sockaddr_in) for IPv4, IP6T_SO_ORIGINAL_DST
    /// (SOL_IPV6, struct sockaddr_in6) for IPv6, read from the conntrack entry of the namespace the
    /// socket lives in, whichever thread asks. A connection made to the listener itself reports the
    /// listener's own address. Null when the kernel tracks no such connection (ENOENT: no conntrack
    /// in that namespace, or the entry is gone).
    /// </summary>
    public static unsafe System.Net.IPEndPoint? OriginalDestination(System.Net.Sockets.Socket accepted)
    {
        ArgumentNullException.ThrowIfNull(accepted);
        var v6 = accepted.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        var buffer = stackalloc byte[28];
        var length = (uint)(v6 ? 28 : 16);
        var handle = accepted.SafeHandle;
        var addRef = false;
        handle.DangerousAddRef(ref addRef);
        try
        {
            if (Libc.GetSockOpt((int)handle.DangerousGetHandle(), v6 ? Libc.SOL_IPV6 : Libc.SOL_IP, Libc.SO_ORIGINAL_DST, buffer, &length) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno == Errno.ENOENT ? null : throw new LinuxException(v6 ? "getsockopt(IP6T_SO_ORIGINAL_DST)" : "getsockopt(SO_ORIGINAL_DST)", errno);
            }
        }
        finally
        {
            handle.DangerousRelease();
        }
        return SocketAddresses.Parse(new ReadOnlySpan<byte>(buffer, (int)length));
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

    private static T RunOnThisThread<T>(SafeFileHandle process, Func<T> work)
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
        try
        {
            return work();
        }
        finally
        {
            if (Libc.Setns((int)home.DangerousGetHandle(), Libc.CLONE_NEWNET) != 0)
            {
                // Cannot happen for root going back to where it came from; if it does, this thread must
                // never run anything else, and the runtime must not reuse it: stop the process.
                Environment.FailFast($"setns back to the daemon's network namespace failed (errno {Marshal.GetLastPInvokeError()})");
            }
        }
    }
}
