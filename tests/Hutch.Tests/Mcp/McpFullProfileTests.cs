using System.Text.Json;
using Hutch.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Hutch.Tests.Mcp;

/// <summary>The `full` profile's own tools through the C# SDK's client over /mcp: background commands, a terminal, the network policy and its events.</summary>
public sealed class McpFullProfileTests(DaemonFixture fixture) : IClassFixture<DaemonFixture>
{
    private static Dictionary<string, object?> Args(params (string Name, object? Value)[] args) => args.ToDictionary(a => a.Name, a => a.Value);

    private static JsonElement Structured(CallToolResult result)
    {
        Assert.True(result.IsError != true, string.Concat(result.Content.OfType<TextContentBlock>().Select(t => t.Text)));
        return result.StructuredContent!.Value;
    }

    [Fact]
    public async Task ABackgroundCommand_IsStartedReadFromCursorsListedAndKilled()
    {
        await using var client = await McpClients.HttpAsync(fixture, "full");

        var ticker = Structured(await client.CallToolAsync("start", Args(("command", "for i in 1 2 3; do echo tick $i; sleep 0.2; done"), ("name", "ticker"))));
        var sleeper = Structured(await client.CallToolAsync("start", Args(("command", "exec sleep 300"), ("name", "sleeper"))));
        var output = "";
        long cursor = 0;
        JsonElement logs;
        do
        {
            logs = Structured(await client.CallToolAsync("logs", Args(("process", "ticker"), ("cursor", cursor))));
            output += logs.GetProperty("stdout").GetString();
            cursor = logs.GetProperty("cursor").GetInt64();
            await Task.Delay(50);
        }
        while (logs.GetProperty("state").GetString() == "running" || logs.GetProperty("more").GetBoolean());
        var listed = Structured(await client.CallToolAsync("processes", Args()));
        var killed = Structured(await client.CallToolAsync("kill", Args(("process", "sleeper"))));

        Assert.Equal(("ticker", "sleeper"), (ticker.GetProperty("process").GetString(), sleeper.GetProperty("process").GetString()));
        Assert.Equal("tick 1\ntick 2\ntick 3\n", output);
        Assert.Equal(0, logs.GetProperty("exitCode").GetInt32());
        Assert.Equal(["ticker", "sleeper"], listed.GetProperty("processes").EnumerateArray().Select(p => p.GetProperty("process").GetString()).Order().Reverse());
        Assert.Equal("killed", killed.GetProperty("state").GetString());
    }

    [Fact]
    public async Task ATerminal_IsTypedIntoAndRead_WithoutControlSequences()
    {
        await using var client = await McpClients.HttpAsync(fixture, "full");

        var opened = Structured(await client.CallToolAsync("shell", Args()));
        var shell = opened.GetProperty("shell").GetString()!;
        var typed = Structured(await client.CallToolAsync("type", Args(("shell", shell), ("text", "printf '\\033[31mred\\033[0m %s\\n' $((6*7))"))));
        await client.CallToolAsync("type", Args(("shell", shell), ("text", "exit"), ("waitSeconds", 5)));
        var last = Structured(await client.CallToolAsync("screen", Args(("shell", shell))));

        Assert.Contains("red 42", typed.GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[31m", typed.GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.NotEqual("running", last.GetProperty("state").GetString());
    }

    [Fact]
    public async Task TheNetworkPolicy_IsReadAndSet_AndARefusalIsAnEvent()
    {
        await using var client = await McpClients.HttpAsync(fixture, "full");

        var before = Structured(await client.CallToolAsync("network", Args()));
        var set = Structured(await client.CallToolAsync("network", Args(("allow", new[] { "allowed.invalid" }))));
        // Answered by the sandbox's own resolver in the daemon: nothing leaves the host.
        await client.CallToolAsync("exec", Args(("command", "getent hosts refused.invalid || true")));
        JsonElement events = default;
        for (var i = 0; i < 100; i++)
        {
            events = Structured(await client.CallToolAsync("events", Args()));
            if (events.GetProperty("events").EnumerateArray().Any(e => e.GetProperty("host").GetString() == "refused.invalid"))
            {
                break;
            }
            await Task.Delay(50);
        }

        Assert.Equal("none", before.GetProperty("mode").GetString());
        Assert.Equal(("allowlist", "allowed.invalid"), (set.GetProperty("mode").GetString(), set.GetProperty("allow")[0].GetString()));
        var refusal = events.GetProperty("events").EnumerateArray().First(e => e.GetProperty("host").GetString() == "refused.invalid");
        Assert.Equal("refused", refusal.GetProperty("outcome").GetString());
        Assert.True(events.GetProperty("cursor").GetInt64() > 0);
    }

    [Fact]
    public async Task AService_IsStartedUntilItsProbePasses_AndAnsweredThroughItsPort()
    {
        await using var client = await McpClients.HttpAsync(fixture, "full");
        await client.CallToolAsync("write", Args(("path", "site/index.html"), ("content", "<h1>served</h1>\n")));

        var ready = Structured(await client.CallToolAsync("service", Args(("name", "web"), ("command", "cd site && exec python3 -m http.server 8000"), ("probe", "http:8000/"))));
        var page = Structured(await client.CallToolAsync("port", Args(("port", 8000), ("path", "/index.html"))));
        var failed = Structured(await client.CallToolAsync("service", Args(("name", "broken"), ("command", "echo cannot start >&2; exit 3"), ("probe", "tcp:9000"), ("waitSeconds", 10))));
        var badProbe = await client.CallToolAsync("service", Args(("name", "x"), ("command", "true"), ("probe", "udp:53")));

        Assert.Equal("ready", ready.GetProperty("state").GetString());
        Assert.Equal((200, "<h1>served</h1>\n"), (page.GetProperty("status").GetInt32(), page.GetProperty("body").GetString()));
        Assert.Equal("failed", failed.GetProperty("state").GetString());
        Assert.Contains("cannot start", failed.GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.True(badProbe.IsError);
        Assert.StartsWith("invalid_argument: probe 'udp:53'", string.Concat(badProbe.Content.OfType<TextContentBlock>().Select(t => t.Text)), StringComparison.Ordinal);
    }
}
