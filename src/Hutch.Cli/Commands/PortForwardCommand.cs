using System.CommandLine;
using System.Net;
using Hutch.Cli.Ports;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch port-forward ID PORT [--local-port N] [--address A]`: a local port whose connections reach
/// 127.0.0.1:PORT inside the sandbox as raw TCP (like `kubectl port-forward`), until Ctrl-C.
/// </summary>
internal static class PortForwardCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var port = new Argument<int>("port") { Description = "The port inside the sandbox (its server listens on 127.0.0.1 or 0.0.0.0)" };
        var localPort = new Option<int?>("--local-port")
        {
            Description = "Local port to listen on (default: PORT; 0 picks a free one)",
            HelpName = "N",
        };
        var address = new Option<string>("--address")
        {
            Description = "Local address to listen on; whoever reaches it reaches the sandbox's port with no key",
            HelpName = "IP",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        port.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() is < 1 or > 65535)
            {
                result.AddError("PORT must be a TCP port, from 1 to 65535.");
            }
        });
        localPort.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is < 0 or > 65535)
            {
                result.AddError("--local-port must be from 0 (any free port) to 65535.");
            }
        });
        address.Validators.Add(result =>
        {
            if (!IPAddress.TryParse(result.GetValueOrDefault<string>(), out _))
            {
                result.AddError($"--address '{result.GetValueOrDefault<string>()}' is not an IP address: use one such as 127.0.0.1 or ::1.");
            }
        });

        var command = new Command("port-forward", "Forward a local port to a port inside a sandbox (any TCP protocol), until Ctrl-C")
        {
            id, port, localPort, address,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var sandbox = parse.GetRequiredValue(id);
            var remotePort = parse.GetValue(port);
            var local = new IPEndPoint(IPAddress.Parse(parse.GetRequiredValue(address)), parse.GetValue(localPort) ?? remotePort);
            using var client = Connection.Connect(parse);
            // A typo in the id fails now, not at the first connection.
            await client.GetSandboxAsync(sandbox, cancellationToken).ConfigureAwait(false);
            using var forwarder = PortForwarder.Listen(client, sandbox, remotePort, local, console);
            if (!IPAddress.IsLoopback(local.Address))
            {
                console.Error.WriteLine($"hutch: warning: listening on {local.Address}: anyone who can reach it reaches port {remotePort} of sandbox {sandbox}, without the API key");
            }
            console.Out.WriteLine($"Forwarding {forwarder.LocalEndPoint} -> sandbox {sandbox}:{remotePort}");
            console.Out.Flush();
            await forwarder.RunAsync(cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
