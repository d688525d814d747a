using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Network;

/// <summary>Egress fails closed while no daemon runs, and a daemon that adopts the sandbox enforces its policy again.</summary>
public sealed class EgressRestartTests(EgressUpstreams upstreams) : IClassFixture<EgressUpstreams>
{
    private const string ConnectScript = """
        import socket, sys
        s = socket.socket(); s.settimeout(5)
        try:
            s.connect((sys.argv[1], int(sys.argv[2]))); print(s.recv(100).decode().strip())
        except ConnectionRefusedError: print('refused')
        except ConnectionResetError: print('reset')
        """;

    private static Task<ExecResult> ProbeAsync(HutchClient client, string id, string host, int port) =>
        client.ExecAsync(id, new ExecRequest(Argv: ["python3", "-c", ConnectScript, host, port.ToString(System.Globalization.CultureInfo.InvariantCulture)]));

    [Fact]
    public async Task WithNoDaemon_ConnectionsAreRefused_AndTheNextDaemonEnforcesThePolicyAgain()
    {
        var dataDir = TestPaths.NewTempDir("hutch-egr");
        var options = new HutchOptions
        {
            DataDir = dataDir, Url = "http://127.0.0.1:0", AgentPath = TestPaths.Agent, WarmPool = 0,
            EgressOpenNetworks = $"test={upstreams.Cidr}",
        };
        var daemon = await DaemonHost.StartAsync(options);
        try
        {
            var key = (await File.ReadAllTextAsync(options.ApiKeyFile)).Trim();
            string id;
            using (var client = new HutchClient(new Uri(daemon.Url), key))
            {
                id = (await client.CreateSandboxAsync(new CreateSandboxRequest(
                    Network: new NetworkPolicy(NetworkModes.Allowlist, [$"net:test:{EgressUpstreams.TcpPort}"])))).Id;
                Assert.Equal("hello from upstream\n", (await ProbeAsync(client, id, upstreams.Address.ToString(), EgressUpstreams.TcpPort)).Stdout);
            }

            await daemon.DisposeAsync(); // the sandbox runs on, with no one listening for it
            // No daemon: the agent cannot be reached through the API either, so look from the host
            // into the sandbox's namespace: its capture is still there, and nothing accepts.
            var seen = upstreams.RequestsSeen.Count;
            var pid = HostInspector.InitPidOf(dataDir, id);
            var whileDown = await ToolProcess.RunAsync("nsenter", [$"--net=/proc/{pid}/ns/net", "python3", "-c", ConnectScript, upstreams.Address.ToString(), $"{EgressUpstreams.TcpPort}"],
                dataDir, TimeSpan.FromSeconds(30));
            Assert.Equal("refused\n", whileDown.Stdout);
            Assert.Equal(seen, upstreams.RequestsSeen.Count);

            daemon = await DaemonHost.StartAsync(options);
            using var again = new HutchClient(new Uri(daemon.Url), key);
            var info = await again.GetSandboxAsync(id);
            string? after = null;
            for (var i = 0; i < 100 && after != "hello from upstream\n"; i++)
            {
                after = (await ProbeAsync(again, id, upstreams.Address.ToString(), EgressUpstreams.TcpPort)).Stdout;
                await Task.Delay(after == "hello from upstream\n" ? 0 : 50);
            }
            var otherPort = await ProbeAsync(again, id, upstreams.Address.ToString(), EgressUpstreams.HttpPort);

            Assert.Equal([$"net:test:{EgressUpstreams.TcpPort}"], info.Network?.Allow ?? []);
            Assert.Equal("hello from upstream\n", after);
            Assert.Equal("reset\n", otherPort.Stdout); // the policy came back whole, not just the listeners
            await again.DeleteSandboxAsync(id);
        }
        finally
        {
            await daemon.DisposeAsync();
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    [Fact]
    public async Task APlaceholder_IsStillSwappedForItsValue_ByTheNextDaemon()
    {
        var dataDir = TestPaths.NewTempDir("hutch-egs");
        var hosts = Path.Join(dataDir, "..", Path.GetFileName(dataDir) + ".hosts");
        await File.WriteAllTextAsync(hosts, upstreams.HostsFileLine + "\n");
        var options = new HutchOptions
        {
            DataDir = dataDir, Url = "http://127.0.0.1:0", AgentPath = TestPaths.Agent, WarmPool = 0,
            EgressOpenNetworks = $"test={upstreams.Cidr}", EgressHostsFile = hosts, EgressCaFile = upstreams.CaCertPath,
        };
        var value = $"sk-restart-{Guid.NewGuid():N}";
        var curl = $"curl -sS --max-time 10 -H \"Authorization: Bearer $KEY\" https://{EgressUpstreams.HostName}:{EgressUpstreams.HttpsPort}/";
        var daemon = await DaemonHost.StartAsync(options);
        try
        {
            var key = (await File.ReadAllTextAsync(options.ApiKeyFile)).Trim();
            string id, placeholder;
            using (var client = new HutchClient(new Uri(daemon.Url), key))
            {
                await client.CreateSecretAsync(new CreateSecretRequest("RESTART_PH", value, Hosts: [EgressUpstreams.HostName]));
                id = (await client.CreateSandboxAsync(new CreateSandboxRequest(
                    Network: new NetworkPolicy(NetworkModes.Allowlist, [$"{EgressUpstreams.HostName}:{EgressUpstreams.HttpsPort}", "net:test:9"]),
                    Secrets: [new SecretUse("RESTART_PH", Env: "KEY")]))).Id;
                placeholder = (await client.ExecAsync(id, new ExecRequest(Command: "printf %s \"$KEY\""))).Stdout;
                Assert.Equal(0, (await client.ExecAsync(id, new ExecRequest(Command: curl + "before"))).ExitCode);
            }

            await daemon.DisposeAsync();
            daemon = await DaemonHost.StartAsync(options);
            using var again = new HutchClient(new Uri(daemon.Url), key);
            ExecResult after = null!;
            for (var i = 0; i < 100 && after?.ExitCode != 0; i++)
            {
                after = await again.ExecAsync(id, new ExecRequest(Command: curl + "after"));
                await Task.Delay(after.ExitCode == 0 ? 0 : 50);
            }
            var stillHeld = (await again.ExecAsync(id, new ExecRequest(Command: "printf %s \"$KEY\""))).Stdout;

            Assert.True(after.ExitCode == 0, after.Stderr);
            Assert.Equal($"Bearer {value}", upstreams.HttpRequestsSeen.Last(r => r.Target == "/before").Authorization);
            Assert.Equal($"Bearer {value}", upstreams.HttpRequestsSeen.Last(r => r.Target == "/after").Authorization);
            Assert.Equal(placeholder, stillHeld);
            await again.DeleteSandboxAsync(id);
        }
        finally
        {
            await daemon.DisposeAsync();
            TestPaths.DeleteDataDir(dataDir);
            File.Delete(hosts);
        }
    }
}
