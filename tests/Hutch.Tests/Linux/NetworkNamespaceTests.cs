using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hutch.Linux;
using Hutch.Linux.Interop;

namespace Hutch.Tests.Linux;

/// <summary>Sockets made in another process's network namespace, without the caller ever entering it.</summary>
public sealed class NetworkNamespaceTests
{
    // A server alone in a new network namespace (unshare(1) execs python3, so its pid is the server's).
    // A new namespace's lo is down: SIOCSIFFLAGS (0x8914) with IFF_UP|IFF_RUNNING brings it up, no iproute2 needed.
    private const string LonelyServer = """
        import fcntl, socket, struct, sys
        fcntl.ioctl(socket.socket(), 0x8914, struct.pack('16sH14x', b'lo', 0x1 | 0x40))
        s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(1)
        print('ready', flush=True)
        c, _ = s.accept(); c.sendall(b'from the other namespace'); c.close()
        """;

    [Fact]
    public async Task ASocketMadeInAnotherNamespace_ReachesItsLoopback_WhichOursDoesNotHave()
    {
        var port = Random.Shared.Next(40000, 50000);
        using var server = Process.Start(new ProcessStartInfo("unshare", ["--net", "python3", "-c", LonelyServer, port.ToString()])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("ready", await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            var ourNamespace = File.ResolveLinkTarget("/proc/thread-self/ns/net", returnFinalTarget: false)!.FullName;

            using var host = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var refused = await Assert.ThrowsAsync<SocketException>(() => host.ConnectAsync(IPAddress.Loopback, port));
            using var pidfd = NetworkNamespace.OpenProcess(server.Id);
            using var inside = await NetworkNamespace.CreateTcpSocketInAsync(pidfd);
            await inside.ConnectAsync(IPAddress.Loopback, port);
            var buffer = new byte[64];
            var n = await inside.ReceiveAsync(buffer);

            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
            Assert.Equal("from the other namespace", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
            // The switch happened on a thread of its own: the one that continued here never left home.
            Assert.Equal(ourNamespace, File.ResolveLinkTarget("/proc/thread-self/ns/net", returnFinalTarget: false)!.FullName);
        }
        finally
        {
            server.Kill();
        }
    }

    [Fact]
    public async Task AProcessThatExitedAfterItWasPinned_IsESRCH_NeverAnotherProcessWithItsPid()
    {
        // A child that lives until we pinned it (`true` could be gone, and reaped, before pidfd_open).
        using var child = Process.Start("sleep", "30")!;
        using var pidfd = NetworkNamespace.OpenProcess(child.Id);
        child.Kill();
        await child.WaitForExitAsync(); // reaped: the pid is free for reuse, the pidfd still means the dead process

        var e = await Assert.ThrowsAsync<LinuxException>(() => NetworkNamespace.CreateTcpSocketInAsync(pidfd));

        Assert.Equal(Errno.ESRCH, e.Errno);
    }
}
