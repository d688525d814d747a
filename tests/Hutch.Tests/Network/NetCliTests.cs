using System.Text;
using System.Text.Json;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Network;

/// <summary>`hutch create --allow`, `hutch info`, `hutch net set` and `hutch net events` as a user runs them.</summary>
public sealed class NetCliTests(EgressFixture fixture) : IClassFixture<EgressFixture>
{
    [Fact]
    public async Task CreateWithAllow_ThenInfo_NetSet_AndNetEvents_ShowThePolicyAndTheRefusal()
    {
        var up = fixture.Upstreams;
        var create = await HutchAsync("create", "--allow", $"net:test:{EgressUpstreams.TcpPort}", "--deny", $"{up.Address}:1-100");
        var id = Text(create.Stdout).Trim();
        try
        {
            var info = await HutchAsync("info", id);
            await fixture.Client.ExecAsync(id, new ExecRequest(Argv: ["python3", "-c",
                $"import socket; s = socket.create_connection(('{up.Address}', {EgressUpstreams.HttpPort})); s.recv(1)"]));
            var events = await HutchAsync("net", "events", id);
            var json = await HutchAsync("net", "events", id, "--json");
            var set = await HutchAsync("net", "set", id, "--network", "none");
            var bad = await HutchAsync("net", "set", id, "--allow", "*");

            Assert.Equal(0, create.Code);
            Assert.Contains($"network  allowlist, allow net:test:{EgressUpstreams.TcpPort}, deny {up.Address}:1-100", Text(info.Stdout), StringComparison.Ordinal);
            Assert.Contains($"refused  egress_port  {up.Address}:{EgressUpstreams.HttpPort} refused", Text(events.Stdout), StringComparison.Ordinal);
            var e = JsonSerializer.Deserialize(Text(json.Stdout).Split('\n')[0], ApiJsonContext.Default.NetworkEvent)!;
            Assert.Equal((NetworkOutcomes.Refused, "egress_port", EgressUpstreams.HttpPort), (e.Outcome, e.Code, e.Port));
            Assert.Equal($"{id}: network none (nothing leaves)\n", Text(set.Stdout));
            Assert.Equal(1, bad.Code);
            Assert.Contains("invalid_network_policy", bad.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await fixture.Client.DeleteSandboxAsync(id);
        }
    }

    [Fact]
    public async Task Presets_AreListed_CreateTakesOne_AndInfoShowsTheCounters()
    {
        var name = EgressUpstreams.HostName;
        var presets = await HutchAsync("net", "presets");
        var create = await HutchAsync("create", "--preset", "package-registries", "--allow", "net:test:9");
        var id = Text(create.Stdout).Trim();
        try
        {
            var curl = await fixture.Client.ExecAsync(id, new ExecRequest(Command: $"curl -sS --max-time 5 http://{name}:{EgressUpstreams.HttpPort}/ http://elsewhere.test/"));
            var info = await HutchAsync("info", id);
            var log = await HutchAsync("net", "log", id);
            // exec says what the network refused while the command ran, on stderr after the program's own error.
            var exec = await HutchAsync("exec", id, "--", "sh", "-c", "curl -sS --max-time 5 http://refused-in-exec.test/; true");

            Assert.Equal($"""
                package-registries: {name}:{EgressUpstreams.HttpPort} {name}:{EgressUpstreams.HttpsPort}
                  apt  http://{name}:{EgressUpstreams.HttpPort}/debian  ({fixture.RegistryConfigRoot}/etc/apt/sources.list.d/test.sources)
                  pip  https://{name}:{EgressUpstreams.HttpsPort}/simple/  ({fixture.RegistryConfigRoot}/etc/pip.conf)
                  npm  https://{name}:{EgressUpstreams.HttpsPort}/npm/  ({fixture.RegistryConfigRoot}/etc/npmrc)

                """, Text(presets.Stdout));
            Assert.Equal(0, create.Code);
            Assert.Contains($"upstream-ok {EgressUpstreams.HttpPort}", curl.Stdout, StringComparison.Ordinal);
            Assert.Contains("network  allowlist, allow net:test:9, preset package-registries", Text(info.Stdout), StringComparison.Ordinal);
            Assert.Matches(@"egress +1 connections \(0 open\), 1 refused, [0-9]+ B out, [0-9]+ B in", Text(info.Stdout));
            Assert.Contains("egress_denied_host  elsewhere.test:80 refused", Text(log.Stdout), StringComparison.Ordinal);
            Assert.Equal(0, exec.Code);
            Assert.Contains("hutch: network: refused-in-exec.test:80 refused: refused-in-exec.test is not in this sandbox's allowlist (add refused-in-exec.test:80 to network.allow) (egress_denied_host)\n",
                exec.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            await fixture.Client.DeleteSandboxAsync(id);
        }
    }

    private Task<(int Code, byte[] Stdout, string Stderr)> HutchAsync(params string[] args) =>
        CliProcess.RunAsync(fixture, Path.GetTempPath(), null, args);

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
