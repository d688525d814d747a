using System.Net;
using System.Net.Sockets;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Runtime;
using Hutch.Runtime.Oci;

namespace Hutch.Daemon.Ports;

/// <summary>
/// Ports: TCP connections from the daemon to 127.0.0.1:PORT inside a sandbox. The sandbox keeps its
/// loopback-only namespace; the daemon (root) creates each socket inside it and connects it from outside.
/// </summary>
public sealed class PortService(SandboxDirectory directory, OciRuntime runtime)
{
    public const int MinPort = 1;
    public const int MaxPort = 65535;

    /// <summary>The port, or an invalid_port error that says what a port is.</summary>
    public static int Validate(string port) =>
        int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) && p is >= MinPort and <= MaxPort
            ? p
            : throw new HutchException(ErrorCodes.InvalidPort, $"'{port}' is not a TCP port: use a number from {MinPort} to {MaxPort}.");

    /// <summary>The id of a running sandbox whose ports can be reached (resolving a name).</summary>
    /// <exception cref="HutchException">sandbox_not_found, sandbox_not_running.</exception>
    public async Task<string> ResolveRunningAsync(string idOrName, CancellationToken cancellationToken = default)
    {
        return (await directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false)).Record.Id;
    }

    /// <summary>
    /// A socket connected to 127.0.0.1:<paramref name="port"/> in the sandbox's network namespace.
    /// The init's pid comes from runc's state and is pinned with a pidfd before its cgroup is
    /// checked, so a pid reused by a host process is never entered.
    /// </summary>
    /// <exception cref="HutchException">sandbox_not_found, sandbox_not_running, port_unreachable.</exception>
    public async Task<Socket> ConnectAsync(string id, int port, CancellationToken cancellationToken = default)
    {
        var live = await directory.LiveAsync(id, cancellationToken).ConfigureAwait(false);
        var socket = await CreateSocketInAsync(runtime, live.Record.Id).ConfigureAwait(false);
        try
        {
            socket.NoDelay = true;
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new HutchException(ErrorCodes.PortUnreachable, $"Nothing accepts connections on 127.0.0.1:{port} in sandbox {live.Record.Id} ({e.SocketErrorCode}). " +
                $"Start the server inside the sandbox, listening on 127.0.0.1:{port} or 0.0.0.0:{port}.", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static async Task<Socket> CreateSocketInAsync(OciRuntime runtime, string id)
    {
        using var process = SandboxInit.Pin(runtime, id);
        try
        {
            return await NetworkNamespace.CreateTcpSocketInAsync(process).ConfigureAwait(false);
        }
        catch (LinuxException e) when (e.Errno == Errno.ESRCH)
        {
            throw SandboxInit.NotRunning(id);
        }
    }
}
