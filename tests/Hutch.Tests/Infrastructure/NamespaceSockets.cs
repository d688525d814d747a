using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Hutch.Tests.Infrastructure;

/// <summary>
/// TCP sockets created inside a named network namespace (<c>/run/netns/NAME</c>), for the test
/// upstream servers. The same idea as Hutch.Linux.NetworkNamespace, which takes a pidfd: a socket
/// belongs to the namespace it was created in for its whole life (network_namespaces(7)), so only the
/// creation happens on a short-lived thread that sits in the namespace; bind, listen and accept then
/// run on any thread and still use that namespace's addresses and routes.
/// </summary>
internal static class NamespaceSockets
{
    private const int CLONE_NEWNET = 0x40000000;

    // DllImport, not LibraryImport: the generated stub needs unsafe code, which this project does not allow,
    // and two ints marshal as they are either way.
    [DllImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static extern int Setns(int fd, int nstype);

    /// <summary>One new, unbound stream socket per entry of <paramref name="families"/>, in the namespace <paramref name="netnsPath"/> names.</summary>
    public static Task<Socket[]> CreateAsync(string netnsPath, IReadOnlyList<AddressFamily> families)
    {
        // setns(2) moves the calling thread only: a dedicated thread, never a pool one, goes in and comes
        // back before it ends, and continuations run on the pool, not inline on it.
        var result = new TaskCompletionSource<Socket[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                result.SetResult(CreateOnThisThread(netnsPath, families));
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        }, maxStackSize: 256 * 1024)
        {
            IsBackground = true,
            Name = "hutch-t-netns",
        };
        thread.UnsafeStart();
        return result.Task;
    }

    private static Socket[] CreateOnThisThread(string netnsPath, IReadOnlyList<AddressFamily> families)
    {
        using var home = File.OpenHandle("/proc/thread-self/ns/net");
        using var target = File.OpenHandle(netnsPath);
        if (Setns((int)target.DangerousGetHandle(), CLONE_NEWNET) != 0)
        {
            throw new IOException($"setns({netnsPath}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
        var sockets = new List<Socket>();
        Exception? failed = null;
        try
        {
            sockets.AddRange(families.Select(family => new Socket(family, SocketType.Stream, ProtocolType.Tcp)));
        }
        catch (SocketException e)
        {
            failed = e;
        }
        if (Setns((int)home.DangerousGetHandle(), CLONE_NEWNET) != 0)
        {
            // Root going back where it came from cannot fail; if it did, this thread would run the
            // runtime's work in the upstream namespace: stop rather than test something else.
            Environment.FailFast($"setns back to the test process's network namespace failed (errno {Marshal.GetLastPInvokeError()})");
        }
        if (failed is not null)
        {
            sockets.ForEach(socket => socket.Dispose());
            throw failed;
        }
        return [.. sockets];
    }
}
