using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Hutch.Cli;
using Hutch.Cli.Ports;
using Hutch.Client;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>
/// `hutch port-forward`: local TCP connections reaching a port inside a real sandbox through the
/// collection's daemon, as the published program (its own process, Ctrl-C included) and as its core
/// class (<see cref="PortForwarder"/>) where a test needs to watch each connection.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed partial class PortForwardTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task TheCommand_ServesAnHttpServerOfTheSandboxOnALocalPort_UntilInterrupted()
    {
        await using var sandbox = await fixture.CreateAsync();
        await SandboxServers.StartHttpAsync(sandbox, Client, 8010, "index.html", "<p>served from the sandbox</p>");
        using var hutch = StartHutch("port-forward", sandbox.Id, "8010", "--local-port", "0");

        var banner = await hutch.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var match = BannerPattern().Match(banner ?? "");
        if (!match.Success)
        {
            Assert.Fail($"unexpected banner '{banner}'; stderr: {await StderrSoFarAsync(hutch)}");
        }
        Assert.Equal($"{sandbox.Id}:8010", match.Groups["target"].Value);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var page = await http.GetStringAsync($"http://127.0.0.1:{match.Groups["port"].Value}/index.html");
        var again = await http.GetStringAsync($"http://127.0.0.1:{match.Groups["port"].Value}/index.html");
        Interrupt(hutch);
        await hutch.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("<p>served from the sandbox</p>", page);
        Assert.Equal(page, again);
        Assert.Equal(ExitCodes.Terminated, hutch.ExitCode);
        Assert.Equal("", await hutch.StandardError.ReadToEndAsync());
    }

    [Fact]
    public async Task TheCommand_CarriesRawTcp_BothWays_WithHalfClose()
    {
        await using var sandbox = await fixture.CreateAsync();
        await SandboxServers.StartEchoAsync(sandbox, Client, 8011);
        using var hutch = StartHutch("port-forward", sandbox.Id, "8011", "--local-port", "0", "--address", "127.0.0.1");
        var banner = await hutch.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var port = int.Parse(BannerPattern().Match(banner ?? "").Groups["port"].Value);
        var sent = RandomNumberGenerator.GetBytes(4 << 20);

        var received = await EchoThroughAsync(port, sent);
        Interrupt(hutch);
        await hutch.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([.. sent, .. "bye\n"u8.ToArray()], received);
    }

    [Fact]
    public async Task AConnectionToAPortNothingListensOn_IsReportedInOneLineAndReset_AndTheListenerCarriesOn()
    {
        await using var sandbox = await fixture.CreateAsync();
        var console = new TestConsole();
        using var forwarder = PortForwarder.Listen(Client, sandbox.Id, 8012, new IPEndPoint(IPAddress.Loopback, 0), console.Console);
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(stop.Token);

        var refused = await Assert.ThrowsAsync<IOException>(() => EchoThroughAsync(forwarder.LocalEndPoint.Port, "x"u8.ToArray()));
        await SandboxServers.StartEchoAsync(sandbox, Client, 8012);
        var echoed = await EchoThroughAsync(forwarder.LocalEndPoint.Port, "now it listens"u8.ToArray());
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(SocketError.ConnectionReset, Assert.IsType<SocketException>(refused.InnerException).SocketErrorCode);
        var line = Assert.Single(console.Error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^hutch: connection from 127\.0\.0\.1:\d+ not forwarded: Nothing accepts connections on 127\.0\.0\.1:8012 in sandbox .+ \(port_unreachable\)$", line);
        Assert.Equal("now it listensbye\n", Encoding.ASCII.GetString(echoed));
    }

    [Fact]
    public async Task CtrlC_ResetsTheConnectionsStillOpen()
    {
        await using var sandbox = await fixture.CreateAsync();
        await SandboxServers.StartEchoAsync(sandbox, Client, 8013);
        var console = new TestConsole();
        using var forwarder = PortForwarder.Listen(Client, sandbox.Id, 8013, new IPEndPoint(IPAddress.Loopback, 0), console.Console);
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(stop.Token);
        using var open = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await open.ConnectAsync(forwarder.LocalEndPoint);
        await open.SendAsync("hello"u8.ToArray());
        var buffer = new byte[5];
        await open.ReceiveAsync(buffer); // the tunnel is up: the echo came back

        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.WaitAsync(TimeSpan.FromSeconds(30)));
        var after = await Assert.ThrowsAsync<SocketException>(async () =>
        {
            while (await open.ReceiveAsync(buffer) > 0)
            {
            }
        });

        Assert.Equal("hello", Encoding.ASCII.GetString(buffer));
        Assert.Equal(SocketError.ConnectionReset, after.SocketErrorCode);
        Assert.Equal("", console.Error.ToString());
    }

    [Fact]
    public async Task AnUnknownSandbox_FailsAtOnce_WithExit1()
    {
        using var hutch = StartHutch("port-forward", "sb-nosuchthing", "8000", "--local-port", "0");
        await hutch.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ExitCodes.Failure, hutch.ExitCode);
        Assert.Equal("", await hutch.StandardOutput.ReadToEndAsync());
        Assert.EndsWith("(sandbox_not_found)", (await hutch.StandardError.ReadToEndAsync()).Trim());
    }

    [Theory]
    [InlineData("box", "0")]
    [InlineData("box", "65536")]
    [InlineData("box", "8000", "--local-port", "-1")]
    [InlineData("box", "8000", "--address", "localhost:80")]
    public async Task BadArguments_AreUsageErrors(params string[] args)
    {
        var console = new TestConsole();

        var exit = await HutchCli.RunAsync(["port-forward", .. args], console.Console);

        Assert.Equal(ExitCodes.Usage, exit);
        Assert.StartsWith("hutch: ", console.Error.ToString());
    }

    /// <summary>Sends <paramref name="bytes"/> through a local connection, half-closes, and reads until the far end closes.</summary>
    private static async Task<byte[]> EchoThroughAsync(int localPort, byte[] bytes)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, localPort);
        using var stream = new NetworkStream(socket);
        using var all = new MemoryStream();
        var reading = stream.CopyToAsync(all);
        await stream.WriteAsync(bytes);
        socket.Shutdown(SocketShutdown.Send);
        await reading.WaitAsync(TimeSpan.FromSeconds(30));
        return all.ToArray();
    }

    private Process StartHutch(params string[] args) => CliProcess.Start(fixture, Environment.CurrentDirectory, args);

    /// <summary>
    /// SIGTERM, which the CLI handles exactly as Ctrl-C (Interrupts). Not SIGINT itself: a test run
    /// started in the background by a shell inherits SIGINT ignored, and so would the CLI.
    /// </summary>
    private static void Interrupt(Process process) => Hutch.Linux.Processes.Signal(process.Id, Hutch.Linux.Processes.SIGTERM);

    private static async Task<string> StderrSoFarAsync(Process process)
    {
        process.Kill();
        return await process.StandardError.ReadToEndAsync();
    }

    [GeneratedRegex(@"^Forwarding 127\.0\.0\.1:(?<port>\d+) -> sandbox (?<target>\S+)$")]
    private static partial Regex BannerPattern();
}
