using System.Net;
using System.Text.Json;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Hutch.Tests.Mcp;

/// <summary>
/// The MCP server through the official C# SDK's client, over both transports: `hutch mcp` (stdio,
/// the published CLI) and the daemon's /mcp (streamable HTTP), against a real daemon and runc.
/// </summary>
public sealed class McpServerTests(DaemonFixture fixture) : IClassFixture<DaemonFixture>
{
    private static readonly string[] WorkspaceTools = ["exec", "output", "read", "write", "ls", "search", "patch", "checkpoint", "diff", "reset", "create", "sandboxes", "delete"];

    private Task<McpClient> ConnectAsync(string transport, string profile = "workspace") => transport == "stdio"
        ? McpClients.StdioAsync(fixture, "--profile", profile)
        : McpClients.HttpAsync(fixture, profile);

    private static Dictionary<string, object?> Args(params (string Name, object? Value)[] args) => args.ToDictionary(a => a.Name, a => a.Value);

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(t => t.Text));

    private static JsonElement Structured(CallToolResult result)
    {
        Assert.True(result.IsError != true, Text(result));
        return result.StructuredContent!.Value;
    }

    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task EachProfile_ListsItsTools_EachWithADescriptionSchemasAndAnnotations(string transport)
    {
        await using var run = await ConnectAsync(transport, "run");
        await using var workspace = await ConnectAsync(transport, "workspace");

        var runTools = await run.ListToolsAsync();
        var workspaceTools = await workspace.ListToolsAsync();

        Assert.Equal(["run"], runTools.Select(t => t.Name));
        Assert.Equal(WorkspaceTools, workspaceTools.Select(t => t.Name));
        Assert.All(workspaceTools.Select(t => t.ProtocolTool), tool =>
        {
            Assert.True(tool.Description!.Length > 60, tool.Name);
            Assert.Equal("object", tool.InputSchema.GetProperty("type").GetString());
            Assert.Equal("object", tool.OutputSchema!.Value.GetProperty("type").GetString());
            Assert.NotNull(tool.Annotations?.ReadOnlyHint);
        });
        var read = workspaceTools.Single(t => t.Name == "read").ProtocolTool.Annotations!;
        var delete = workspaceTools.Single(t => t.Name == "delete").ProtocolTool.Annotations!;
        Assert.Equal((true, false), (read.ReadOnlyHint, read.DestructiveHint));
        Assert.Equal((false, true), (delete.ReadOnlyHint, delete.DestructiveHint));
    }

    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task ASession_WritesRunsAndReads_InItsOwnSandbox_NamedInEveryAnswer(string transport)
    {
        await using var client = await ConnectAsync(transport);

        var written = Structured(await client.CallToolAsync("write", Args(("path", "app/hello.py"), ("content", "print('hello from mcp')\n"))));
        var ran = await client.CallToolAsync("exec", Args(("command", "python3 hello.py"), ("cwd", "app")));
        var read = Structured(await client.CallToolAsync("read", Args(("path", "app/hello.py"))));
        var listed = Structured(await client.CallToolAsync("ls", Args(("path", "app"))));

        var sandbox = written.GetProperty("sandbox").GetString()!;
        Assert.Equal(0, Structured(ran).GetProperty("exitCode").GetInt32());
        Assert.Equal("hello from mcp\n", Structured(ran).GetProperty("stdout").GetString());
        Assert.Contains("hello from mcp", Text(ran), StringComparison.Ordinal);
        Assert.Equal(sandbox, Structured(ran).GetProperty("sandbox").GetString());
        Assert.Equal((sandbox, "print('hello from mcp')\n"), (read.GetProperty("sandbox").GetString(), read.GetProperty("content").GetString()));
        Assert.Equal("app/hello.py", listed.GetProperty("entries")[0].GetProperty("path").GetString());
        var info = await fixture.Client.GetSandboxAsync(sandbox);
        Assert.Equal("session", info.Labels!["hutch.mcp"]);
        Assert.NotNull(info.ExpiresAt);
    }

    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task ABinaryFile_IsLinkedNotDumped_AndTheLinkReadsAsAResource(string transport)
    {
        await using var client = await ConnectAsync(transport);
        var made = Structured(await client.CallToolAsync("exec", Args(("command", "printf '\\211PNG\\r\\n\\032\\n\\000\\001\\002' > img.png"))));
        var sandbox = made.GetProperty("sandbox").GetString()!;

        var read = await client.CallToolAsync("read", Args(("path", "img.png")));
        var link = Structured(read).GetProperty("resource").GetString()!;
        var resource = await client.ReadResourceAsync(link);
        var templates = await client.ListResourceTemplatesAsync();

        Assert.Equal($"hutch://sandboxes/{sandbox}/files/img.png", link);
        Assert.True(Structured(read).GetProperty("content").ValueKind == JsonValueKind.Null);
        Assert.DoesNotContain("PNG", Text(read).Replace("img.png", ""), StringComparison.Ordinal);
        var blob = Assert.IsType<BlobResourceContents>(Assert.Single(resource.Contents));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 0, 1, 2 }, blob.DecodedData.ToArray());
        Assert.Equal("hutch://sandboxes/{id}/files/{+path}", Assert.Single(templates).UriTemplate);
    }

    [Fact]
    public async Task Search_FindsLinesOfTextFiles_AndAPatternIsNeverAShellWord()
    {
        await using var client = await ConnectAsync("http");
        await client.CallToolAsync("write", Args(("path", "src/a.py"), ("content", "import os\nTOKEN = 'x'\n")));
        await client.CallToolAsync("write", Args(("path", "src/b.txt"), ("content", "token here\n$(touch /workspace/pwned)\n")));

        var plain = Structured(await client.CallToolAsync("search", Args(("pattern", "TOKEN"))));
        var anyCase = Structured(await client.CallToolAsync("search", Args(("pattern", "token"), ("ignoreCase", true), ("glob", "*.txt"))));
        var hostile = Structured(await client.CallToolAsync("search", Args(("pattern", "$(touch /workspace/pwned)"))));
        var listed = Structured(await client.CallToolAsync("ls", Args()));

        var match = Assert.Single(plain.GetProperty("matches").EnumerateArray());
        Assert.Equal(("src/a.py", 2, "TOKEN = 'x'"), (match.GetProperty("path").GetString(), match.GetProperty("line").GetInt32(), match.GetProperty("text").GetString()));
        Assert.Equal("src/b.txt", Assert.Single(anyCase.GetProperty("matches").EnumerateArray()).GetProperty("path").GetString());
        Assert.Equal(2, Assert.Single(hostile.GetProperty("matches").EnumerateArray()).GetProperty("line").GetInt32());
        Assert.DoesNotContain(listed.GetProperty("entries").EnumerateArray(), e => e.GetProperty("path").GetString() == "pwned");
    }

    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task ABigOutput_IsCutToHeadAndTail_AndTheCursorReadsTheRest(string transport)
    {
        await using var client = await ConnectAsync(transport);

        var answer = Structured(await client.CallToolAsync("exec", Args(("command", "seq 1 200000"))));
        var output = answer.GetProperty("output").GetString()!;
        var stdout = answer.GetProperty("stdout").GetString()!;
        var headEnd = stdout.IndexOf("\n[… ", StringComparison.Ordinal);
        var rest = Structured(await client.CallToolAsync("output", Args(("output", output), ("offset", headEnd + 1), ("maxBytes", 4096))));

        var all = string.Join('\n', Enumerable.Range(1, 200000)) + "\n";
        Assert.Equal(all.Length, answer.GetProperty("stdoutBytes").GetInt64());
        Assert.True(stdout.Length < 20_000, $"{stdout.Length} characters");
        Assert.StartsWith(all[..headEnd], stdout, StringComparison.Ordinal);
        Assert.EndsWith("199999\n200000\n", stdout, StringComparison.Ordinal);
        Assert.Contains($"output(output: \"{output}\", stream: \"stdout\", offset: ", stdout, StringComparison.Ordinal);
        Assert.Equal(all.Substring(headEnd + 1, 4096), rest.GetProperty("data").GetString());
        Assert.Equal(headEnd + 1 + 4096, rest.GetProperty("next").GetInt64());
    }

    [Theory]
    [InlineData("stdio")]
    [InlineData("http")]
    public async Task AMistake_IsAToolErrorWithItsCodeAndWhatToDo_NotAProtocolError(string transport)
    {
        await using var client = await ConnectAsync(transport);

        var missing = await client.CallToolAsync("read", Args(("path", "no/such/file.txt")));
        var badTimeout = await client.CallToolAsync("exec", Args(("command", "true"), ("timeoutSeconds", 0)));
        var noSandbox = await client.CallToolAsync("ls", Args(("sandbox", "no-such-sandbox")));

        Assert.True(missing.IsError);
        Assert.StartsWith($"{ErrorCodes.PathNotFound}: ", Text(missing), StringComparison.Ordinal);
        Assert.Contains("hint: call `ls`", Text(missing), StringComparison.Ordinal);
        Assert.StartsWith("invalid_argument: timeoutSeconds is 1-3600", Text(badTimeout), StringComparison.Ordinal);
        Assert.StartsWith($"{ErrorCodes.SandboxNotFound}: ", Text(noSandbox), StringComparison.Ordinal);
        Assert.Contains("call `sandboxes`", Text(noSandbox), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancellingACall_KillsTheCommand()
    {
        await using var client = await ConnectAsync("stdio");
        var sandbox = Structured(await client.CallToolAsync("exec", Args(("command", "true")))).GetProperty("sandbox").GetString()!;

        using var cancel = new CancellationTokenSource();
        var call = client.CallToolAsync("exec", Args(("command", "echo $$ > /workspace/pid; exec sleep 300")), cancellationToken: cancel.Token).AsTask();
        await WaitForFileAsync(sandbox, "pid");
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        await AssertGoneAsync(sandbox);
    }

    /// <summary>
    /// Over HTTP, as the protocol says: a <c>notifications/cancelled</c> for the call's id, sent in a
    /// POST of its own (a dropped response stream is not a cancel: the client may resume it). Raw
    /// JSON-RPC: the C# SDK's HTTP client (2.4.0) was seen not to send the notification when a call is cancelled.
    /// </summary>
    [Fact]
    public async Task OverHttp_ACancelledNotification_KillsTheCommand()
    {
        using var http = fixture.RawHttp();
        http.DefaultRequestHeaders.Accept.ParseAdd("application/json");
        http.DefaultRequestHeaders.Accept.ParseAdd("text/event-stream");
        var initialize = await RawPostAsync(http, null, """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}""");
        var session = initialize.Headers.GetValues("Mcp-Session-Id").Single();
        (await RawPostAsync(http, session, """{"jsonrpc":"2.0","method":"notifications/initialized"}""")).Dispose();
        var first = await (await RawPostAsync(http, session, """{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"exec","arguments":{"command":"true"}}}""")).Content.ReadAsStringAsync();
        var sandbox = System.Text.RegularExpressions.Regex.Match(first, "\"sandbox\":\"(sb-[a-z0-9]+)\"").Groups[1].Value;

        var call = RawPostAsync(http, session, """{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"exec","arguments":{"command":"echo $$ > /workspace/pid; exec sleep 300"}}}""");
        await WaitForFileAsync(sandbox, "pid");
        var cancelled = await RawPostAsync(http, session, """{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}""");

        Assert.Equal(HttpStatusCode.Accepted, cancelled.StatusCode);
        await AssertGoneAsync(sandbox);
        _ = call; // no answer is owed to a cancelled call
    }

    private static async Task<HttpResponseMessage> RawPostAsync(HttpClient http, string? session, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("MCP-Protocol-Version", "2025-06-18");
        if (session is not null)
        {
            request.Headers.Add("Mcp-Session-Id", session);
        }
        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private async Task AssertGoneAsync(string sandbox)
    {
        var gone = false;
        for (var i = 0; i < 100 && !gone; i++)
        {
            gone = (await fixture.Client.RunAsync(sandbox, "kill -0 $(cat /workspace/pid) 2>/dev/null")).ExitCode != 0;
            await Task.Delay(50);
        }
        Assert.True(gone, "the command still runs after its call was cancelled");
    }

    [Fact]
    public async Task WhenAnHttpSessionEnds_ItsSandboxIsKeptForTenMinutes_NotItsIdleHour()
    {
        string sandbox;
        await using (var client = await ConnectAsync("http"))
        {
            sandbox = Structured(await client.CallToolAsync("exec", Args(("command", "true")))).GetProperty("sandbox").GetString()!;
            Assert.True((await fixture.Client.GetSandboxAsync(sandbox)).ExpiresAt > DateTimeOffset.UtcNow.AddMinutes(50));
        }

        DateTimeOffset? expires = null;
        for (var i = 0; i < 100; i++)
        {
            expires = (await fixture.Client.GetSandboxAsync(sandbox)).ExpiresAt;
            if (expires < DateTimeOffset.UtcNow.AddMinutes(11))
            {
                break;
            }
            await Task.Delay(50);
        }
        Assert.InRange(expires!.Value, DateTimeOffset.UtcNow.AddMinutes(9), DateTimeOffset.UtcNow.AddMinutes(11));
    }

    [Fact]
    public async Task AnHttpSessionsKeepAfter_IsTheQuerys_AndZeroDeletesItsSandboxWithIt()
    {
        string sandbox;
        var endpoint = new Uri($"{fixture.Daemon.Url}/mcp?keepAfter=0");
        await using (var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = endpoint,
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {fixture.ApiKey}" },
        })))
        {
            sandbox = Structured(await client.CallToolAsync("exec", Args(("command", "true")))).GetProperty("sandbox").GetString()!;
        }

        var gone = false;
        for (var i = 0; i < 100 && !gone; i++)
        {
            gone = !(await fixture.Client.ListSandboxesAsync()).Any(s => s.Id == sandbox);
            await Task.Delay(50);
        }
        using var http = fixture.RawHttp();
        var bad = await DaemonFixture.ProblemOf(await http.PostAsync("/mcp?keepAfter=forever", new StringContent("{}", System.Text.Encoding.UTF8, "application/json")));

        Assert.True(gone, "the session's sandbox outlived a session with keepAfter=0");
        Assert.Equal(ErrorCodes.InvalidQuery, bad.Code);
        Assert.Contains("keepAfter 'forever'", bad.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheHttpEndpoint_WantsTheKey_AndAKnownProfile()
    {
        using var anonymous = new HttpClient();
        var noKey = await anonymous.PostAsync($"{fixture.Daemon.Url}/mcp", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        using var http = fixture.RawHttp();
        var badProfile = await http.PostAsync("/mcp?profile=everything", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        var problem = await DaemonFixture.ProblemOf(badProfile);

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.InvalidQuery), (badProfile.StatusCode, problem.Code));
        Assert.Contains("profile 'everything' is not one of run, workspace, full", problem.Detail, StringComparison.Ordinal);
    }

    private async Task WaitForFileAsync(string sandbox, string path)
    {
        for (var i = 0; i < 200; i++)
        {
            if ((await fixture.Client.RunAsync(sandbox, $"test -s /workspace/{path}")).ExitCode == 0)
            {
                return;
            }
            await Task.Delay(25);
        }
        Assert.Fail($"{path} never appeared in {sandbox}");
    }
}
