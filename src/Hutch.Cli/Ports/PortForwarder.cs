using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Hutch.Client;
using Hutch.Protocol.Tunnel;

namespace Hutch.Cli.Ports;

/// <summary>
/// What `hutch port-forward` runs: a local listener whose every accepted connection is tunnelled, as
/// raw bytes, to 127.0.0.1:PORT inside a sandbox, one WebSocket to the daemon's tcp route per
/// connection (<see cref="TcpTunnel"/>), so any TCP protocol works. A connection that cannot be opened
/// (nothing listens in the sandbox, the sandbox is gone) is reported in one line and reset; the
/// listener keeps accepting.
/// </summary>
internal sealed class PortForwarder : IDisposable
{
    private readonly HutchClient _client;
    private readonly string _sandbox;
    private readonly int _port;
    private readonly TcpListener _listener;
    private readonly CliConsole _console;

    private PortForwarder(HutchClient client, string sandbox, int port, TcpListener listener, CliConsole console)
    {
        _client = client;
        _sandbox = sandbox;
        _port = port;
        _listener = listener;
        _console = console;
    }

    /// <summary>Starts listening on <paramref name="local"/> (port 0: any free one); nothing is accepted before <see cref="RunAsync"/>.</summary>
    /// <exception cref="CliException">The local address cannot be listened on (in use, not this host's, or a privileged port).</exception>
    public static PortForwarder Listen(HutchClient client, string sandbox, int port, IPEndPoint local, CliConsole console)
    {
        var listener = new TcpListener(local);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => new CliException("local_port_in_use",
                    $"{local} is already in use: pick another local port with --local-port N (0 picks a free one)"),
                SocketError.AddressNotAvailable => new CliException("invalid_address",
                    $"Cannot listen on {local.Address}: no interface of this host has it; use --address 127.0.0.1"),
                SocketError.AccessDenied => new CliException("local_port_denied",
                    $"Listening on {local} needs root (ports below 1024): pick --local-port 1024 or above"),
                _ => new CliException("listen_failed", $"Cannot listen on {local}: {e.Message}"),
            };
        }
        return new PortForwarder(client, sandbox, port, listener, console);
    }

    /// <summary>Where the listener is bound, with the port the kernel chose when 0 was asked for.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Accepts and forwards connections until <paramref name="cancellationToken"/> is cancelled, then ends them all.</summary>
    /// <exception cref="OperationCanceledException">Always, once cancelled (Ctrl-C).</exception>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var local = await _listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
                connections.RemoveAll(c => c.IsCompleted);
                connections.Add(ForwardAsync(local, cancellationToken));
            }
        }
        finally
        {
            _listener.Stop();
            // Cancellation aborts every tunnel (TcpTunnel resets both ends); wait for them to let go.
            await Task.WhenAll(connections).ConfigureAwait(false);
        }
    }

    /// <summary>One connection, from accept to close. Never throws: a connection's failure is its own.</summary>
    private async Task ForwardAsync(Socket local, CancellationToken cancellationToken)
    {
        using (local)
        {
            var peer = local.RemoteEndPoint;
            local.NoDelay = true;
            WebSocketStream tunnel;
            try
            {
                tunnel = await _client.ConnectPortAsync(_sandbox, _port, cancellationToken).ConfigureAwait(false);
            }
            catch (HutchApiException e)
            {
                Report($"connection from {peer} not forwarded: {e.Detail}", e.Code);
                // A reset, not a clean close: the local client must not take "nothing there" for an empty answer.
                local.LingerState = new LingerOption(true, 0);
                return;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await using (tunnel.ConfigureAwait(false))
            {
                try
                {
                    await TcpTunnel.RunAsync(local, tunnel.WebSocket, cancellationToken).ConfigureAwait(false);
                }
                catch (WebSocketException e)
                {
                    Report($"connection from {peer} broke: the server in the sandbox or the daemon ended it abruptly ({e.Message})", ClientErrorCodes.StreamInterrupted);
                }
                catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
                {
                    // The local client went away (reset, closed early) or Ctrl-C: ordinary ends, nothing to say.
                }
            }
        }
    }

    private void Report(string message, string code)
    {
        // Connections fail concurrently; each report is one whole line.
        lock (_console)
        {
            _console.Fail(message, code);
        }
    }

    public void Dispose() => _listener.Dispose();
}
