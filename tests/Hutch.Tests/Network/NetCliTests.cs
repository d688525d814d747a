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

    private Task<(int Code, byte[] Stdout, string Stderr)> HutchAsync(params string[] args) =>
        CliProcess.RunAsync(fixture, Path.GetTempPath(), null, args);

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
