using System.Net;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Client;

[Trait("Category", "Unit")]
public class ExecStreamTests
{
    private static HutchClient ClientOver(Stream body, FakeHandler? handler = null) =>
        new(new Uri("http://daemon:7311"), "key", new HttpClient(handler ?? new FakeHandler(_ => FakeHandler.Stream(body))));

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static async Task<List<ExecEvent>> CollectAsync(IAsyncEnumerable<ExecEvent> events)
    {
        var list = new List<ExecEvent>();
        await foreach (var e in events)
        {
            list.Add(e);
        }
        return list;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public async Task Events_AreParsedLineByLine_HoweverTheBytesArrive(int chunk)
    {
        var ndjson = $"{{\"type\":\"start\",\"pid\":42}}\n\n{{\"type\":\"stdout\",\"data\":\"{B64("hello\n")}\"}}\r\n{{\"type\":\"stderr\",\"data\":\"{B64("oops")}\"}}\n{{\"type\":\"exit\",\"exitCode\":0,\"durationMs\":3}}\n";
        using var client = ClientOver(new TrickleStream(Encoding.UTF8.GetBytes(ndjson), chunk));

        var events = await CollectAsync(client.ExecStreamAsync("box", new ExecRequest(Argv: ["echo", "hello"])));

        Assert.Equal(["start", "stdout", "stderr", "exit"], events.Select(e => e.Type));
        Assert.Equal(42, Assert.IsType<ExecStartEvent>(events[0]).Pid);
        Assert.Equal("hello\n", Encoding.UTF8.GetString(Assert.IsType<ExecStdoutEvent>(events[1]).Data.Span));
        Assert.Equal(0, Assert.IsType<ExecExitEvent>(events[3]).ExitCode);
    }

    [Fact]
    public async Task AFinalLineWithoutNewline_StillCounts()
    {
        using var client = ClientOver(new MemoryStream(Encoding.UTF8.GetBytes("{\"type\":\"start\"}\n{\"type\":\"exit\",\"exitCode\":1}")));

        var events = await CollectAsync(client.ExecStreamAsync("box", new ExecRequest(Command: "false")));

        Assert.Equal(1, Assert.IsType<ExecExitEvent>(events[^1]).ExitCode);
    }

    [Fact]
    public async Task TheRequest_AsksForNdjson_OnTheStreamRoute()
    {
        var handler = new FakeHandler(_ => FakeHandler.Stream(new MemoryStream(Encoding.UTF8.GetBytes("{\"type\":\"exit\",\"exitCode\":0}\n"))));
        using var client = ClientOver(Stream.Null, handler);

        await CollectAsync(client.ExecStreamAsync("box", new ExecRequest(Argv: ["true"], KillOnDisconnect: true)));

        var (request, body) = Assert.Single(handler.Sent);
        Assert.Equal("/v1/sandboxes/box/exec/stream", request.RequestUri!.AbsolutePath);
        Assert.Equal("application/x-ndjson", Assert.Single(request.Headers.Accept).MediaType);
        Assert.Equal("""{"argv":["true"],"killOnDisconnect":true}""", body);
    }

    [Fact]
    public async Task AnErrorEvent_IsThrown_WithItsCode()
    {
        using var client = ClientOver(new MemoryStream(Encoding.UTF8.GetBytes(
            "{\"type\":\"start\",\"pid\":1}\n{\"type\":\"error\",\"code\":\"sandbox_died\",\"message\":\"The sandbox's agent exited.\"}\n")));

        var e = await Assert.ThrowsAsync<HutchApiException>(() => CollectAsync(client.ExecStreamAsync("box", new ExecRequest(Argv: ["x"]))));

        Assert.Equal(ErrorCodes.SandboxDied, e.Code);
        Assert.Equal("The sandbox's agent exited.", e.Detail);
        // The status the same code has on a sync exec's answer (one table): the sandbox is gone, so retrying cannot help.
        Assert.Equal(409, e.Status);
        Assert.False(e.IsTransient);
    }

    [Fact]
    public async Task AStreamThatEndsBeforeExit_IsInterrupted()
    {
        using var client = ClientOver(new MemoryStream(Encoding.UTF8.GetBytes("{\"type\":\"start\",\"pid\":1}\n")));

        var e = await Assert.ThrowsAsync<HutchApiException>(() => CollectAsync(client.ExecStreamAsync("box", new ExecRequest(Argv: ["x"]))));

        Assert.Equal(ClientErrorCodes.StreamInterrupted, e.Code);
        Assert.True(e.IsTransient);
    }

    [Fact]
    public async Task ALineThatIsNotAnEvent_IsAnInvalidResponse()
    {
        using var client = ClientOver(new MemoryStream(Encoding.UTF8.GetBytes("not json\n")));

        var e = await Assert.ThrowsAsync<HutchApiException>(() => CollectAsync(client.ExecStreamAsync("box", new ExecRequest(Argv: ["x"]))));

        Assert.Equal(ClientErrorCodes.InvalidResponse, e.Code);
    }

    [Fact]
    public async Task ARefusedStream_ThrowsTheProblem_BeforeAnyEvent()
    {
        var handler = new FakeHandler(_ => FakeHandler.Json(HttpStatusCode.Conflict,
            """{"type":"about:blank","title":"Conflict","status":409,"detail":"The sandbox is lost.","code":"sandbox_not_running"}""", "application/problem+json"));
        using var client = ClientOver(Stream.Null, handler);

        var e = await Assert.ThrowsAsync<HutchApiException>(() => CollectAsync(client.ExecStreamAsync("box", new ExecRequest(Argv: ["x"]))));

        Assert.Equal(ErrorCodes.SandboxNotRunning, e.Code);
        Assert.Equal(409, e.Status);
    }

    [Fact]
    public async Task CancellingTheEnumeration_ClosesTheResponse()
    {
        var body = new TrickleStream(Encoding.UTF8.GetBytes("{\"type\":\"start\",\"pid\":1}\n"), 4096, blockAtEnd: true);
        using var client = ClientOver(body);
        using var cts = new CancellationTokenSource();

        var seen = new List<ExecEvent>();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var e in client.ExecStreamAsync("box", new ExecRequest(Argv: ["sleep", "100"]), cts.Token))
            {
                seen.Add(e);
                cts.Cancel(); // The next read blocks until this cancellation.
            }
        });

        Assert.Equal("start", Assert.Single(seen).Type);
        Assert.True(body.Disposed);
    }

    [Fact]
    public async Task StoppingEarly_ClosesTheResponse()
    {
        var body = new TrickleStream(Encoding.UTF8.GetBytes("{\"type\":\"start\",\"pid\":1}\n"), 4096, blockAtEnd: true);
        using var client = ClientOver(body);

        await foreach (var e in client.ExecStreamAsync("box", new ExecRequest(Argv: ["sleep", "100"])))
        {
            break;
        }

        Assert.True(body.Disposed);
    }
}
