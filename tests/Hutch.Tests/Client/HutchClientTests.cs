using System.Net;
using System.Net.Sockets;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Client;

[Trait("Category", "Unit")]
public class HutchClientTests
{
    private const string SandboxJson = """
        {"id":"sbx1","name":"box","state":"running","createdAt":"2025-01-02T03:04:05+00:00","expiresAt":null,
         "user":"user","cwd":"/workspace","limits":{"memoryMiB":512},"usage":null}
        """;

    private static (HutchClient Client, FakeHandler Handler) Create(Func<HttpRequestMessage, HttpResponseMessage> answer, string baseUrl = "http://daemon:7311")
    {
        var handler = new FakeHandler(answer);
        return (new HutchClient(new Uri(baseUrl), "secret-key", new HttpClient(handler)), handler);
    }

    [Fact]
    public async Task Health_SendsBearerKey_ToV1Health()
    {
        var (client, handler) = Create(_ => FakeHandler.Json(HttpStatusCode.OK, """{"status":"ok","version":"1.0","runtime":"runc","sandboxes":2}"""));

        var health = await client.HealthAsync();

        Assert.Equal(new Health("ok", "1.0", "runc", 2), health);
        var request = Assert.Single(handler.Sent).Request;
        Assert.Equal(HttpMethod.Get, request.Method);
        Assert.Equal("http://daemon:7311/v1/health", request.RequestUri!.ToString());
        Assert.Equal("Bearer", request.Headers.Authorization!.Scheme);
        Assert.Equal("secret-key", request.Headers.Authorization.Parameter);
    }

    [Fact]
    public async Task Requests_KeepAPathPrefixOfTheBaseAddress()
    {
        var (client, handler) = Create(_ => FakeHandler.Json(HttpStatusCode.OK, SandboxJson), "http://proxy/hutch");

        await client.GetSandboxAsync("box");

        Assert.Equal("http://proxy/hutch/v1/sandboxes/box", handler.Sent[0].Request.RequestUri!.ToString());
    }

    [Fact]
    public async Task SandboxIds_AreEscapedInThePath()
    {
        var (client, handler) = Create(_ => new HttpResponseMessage(HttpStatusCode.NoContent));

        await client.DeleteSandboxAsync("a/b c", keepWorkspace: true);

        var request = handler.Sent[0].Request;
        Assert.Equal(HttpMethod.Delete, request.Method);
        Assert.Equal("/v1/sandboxes/a%2Fb%20c", request.RequestUri!.AbsolutePath);
        Assert.Equal("?keepWorkspace=true", request.RequestUri.Query);
    }

    [Fact]
    public async Task Create_PostsTheRequestAsJson_AndReadsTheSandbox()
    {
        var (client, handler) = Create(_ => FakeHandler.Json(HttpStatusCode.Created, SandboxJson));

        var info = await client.CreateSandboxAsync(new CreateSandboxRequest(Name: "box", Limits: new SandboxLimits(MemoryMiB: 256)));

        Assert.Equal("sbx1", info.Id);
        Assert.Equal(512, info.Limits.MemoryMiB);
        Assert.Equal("""{"name":"box","limits":{"memoryMiB":256}}""", handler.Sent[0].Body);
        Assert.Equal("application/json", handler.Sent[0].Request.Content!.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Responses_WithFieldsFromANewerDaemon_AreStillRead()
    {
        var (client, _) = Create(_ => FakeHandler.Json(HttpStatusCode.OK, SandboxJson.Replace("\"user\":", "\"futureField\":{\"x\":1},\"user\":")));

        var info = await client.GetSandboxAsync("box");

        Assert.Equal("box", info.Name);
    }

    [Fact]
    public async Task List_ReturnsTheSandboxes()
    {
        var (client, _) = Create(_ => FakeHandler.Json(HttpStatusCode.OK, $$"""{"sandboxes":[{{SandboxJson}}]}"""));

        var list = await client.ListSandboxesAsync();

        Assert.Equal("sbx1", Assert.Single(list).Id);
    }

    [Fact]
    public async Task ProblemJson_BecomesHutchApiException_WithCodeStatusAndDetail()
    {
        var (client, _) = Create(_ => FakeHandler.Json(HttpStatusCode.NotFound,
            """{"type":"about:blank","title":"Not found","status":404,"detail":"No sandbox has the id or name 'x'.","code":"sandbox_not_found","traceId":"00-abc"}""",
            "application/problem+json"));

        var e = await Assert.ThrowsAsync<HutchApiException>(() => client.GetSandboxAsync("x"));

        Assert.Equal(ErrorCodes.SandboxNotFound, e.Code);
        Assert.Equal(404, e.Status);
        Assert.Equal("No sandbox has the id or name 'x'.", e.Detail);
        Assert.Equal(e.Detail, e.Message);
        Assert.False(e.IsTransient);
    }

    [Fact]
    public async Task ServerErrors_AreTransient()
    {
        var (client, _) = Create(_ => FakeHandler.Json(HttpStatusCode.ServiceUnavailable,
            """{"type":"about:blank","title":"Unavailable","status":503,"detail":"runc is missing","code":"runtime_unavailable"}""", "application/problem+json"));

        var e = await Assert.ThrowsAsync<HutchApiException>(() => client.CreateSandboxAsync());

        Assert.Equal(ErrorCodes.RuntimeUnavailable, e.Code);
        Assert.True(e.IsTransient);
    }

    [Fact]
    public async Task A429_CarriesItsRetryAfter_AndIsTransient_AndIsNotRetriedByTheClient()
    {
        var (client, handler) = Create(_ =>
        {
            var response = FakeHandler.Json(HttpStatusCode.TooManyRequests,
                """{"type":"about:blank","title":"Too many requests","status":429,"detail":"Sandbox x already has 32 commands running.","code":"rate_limited"}""",
                "application/problem+json");
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(3));
            return response;
        });

        var e = await Assert.ThrowsAsync<HutchApiException>(() => client.ExecAsync("x", "true"));

        Assert.Equal((ErrorCodes.RateLimited, 429, TimeSpan.FromSeconds(3)), (e.Code, e.Status, e.RetryAfter));
        Assert.True(e.IsTransient);
        Assert.Single(handler.Sent);
    }

    [Fact]
    public async Task A429WithoutProblemJson_IsStillRateLimited()
    {
        var (client, _) = Create(_ => new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Headers = { RetryAfter = new(TimeSpan.FromSeconds(1)) } });

        var e = await Assert.ThrowsAsync<HutchApiException>(() => client.HealthAsync());

        Assert.Equal((ErrorCodes.RateLimited, TimeSpan.FromSeconds(1)), (e.Code, e.RetryAfter));
    }

    [Fact]
    public async Task AnErrorWithoutProblemJson_IsDescribedFromItsStatus()
    {
        var (client, _) = Create(_ => new HttpResponseMessage(HttpStatusCode.Unauthorized) { Content = new StringContent("<html>nope</html>") });

        var e = await Assert.ThrowsAsync<HutchApiException>(() => client.HealthAsync());

        Assert.Equal(ErrorCodes.Unauthorized, e.Code);
        Assert.Equal(401, e.Status);
        Assert.Contains("HUTCH_API_KEY", e.Detail);
    }

    [Fact]
    public async Task ASuccessThatIsNotApiJson_IsAnInvalidResponse()
    {
        var (client, _) = Create(_ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html>some other server</html>") });

        var e = await Assert.ThrowsAsync<HutchApiException>(() => client.HealthAsync());

        Assert.Equal(ClientErrorCodes.InvalidResponse, e.Code);
    }

    [Fact]
    public async Task NoDaemonListening_SaysToStartOne_AndIsTransient()
    {
        // A port that was free a moment ago: nothing listens there.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        socket.Close();
        using var client = new HutchClient(new Uri($"http://127.0.0.1:{port}"), "key");

        var e = await Assert.ThrowsAsync<HutchApiException>(() => client.HealthAsync());

        Assert.Equal(ClientErrorCodes.DaemonUnreachable, e.Code);
        Assert.Equal(0, e.Status);
        Assert.True(e.IsTransient);
        Assert.Equal($"No Hutch daemon answers at http://127.0.0.1:{port}/: start one with `hutch serve`.", e.Detail);
    }

    [Fact]
    public async Task Exec_PostsTheRequest_AndReturnsTheResult()
    {
        var (client, handler) = Create(_ => FakeHandler.Json(HttpStatusCode.OK,
            """{"exitCode":3,"signal":null,"stdout":"hi\n","stderr":"","encoding":"utf8","truncated":false,"timedOut":false,"oomKilled":false,"durationMs":4}"""));

        var result = await client.ExecAsync("box", "sh", "-c", "echo hi; exit 3");

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("hi\n", result.Stdout);
        Assert.Equal("/v1/sandboxes/box/exec", handler.Sent[0].Request.RequestUri!.AbsolutePath);
        Assert.Equal("""{"argv":["sh","-c","echo hi; exit 3"]}""", handler.Sent[0].Body);
    }

    [Fact]
    public async Task Run_SendsAShellCommand()
    {
        var (client, handler) = Create(_ => FakeHandler.Json(HttpStatusCode.OK,
            """{"exitCode":0,"stdout":"","stderr":"","encoding":"utf8","truncated":false,"timedOut":false,"oomKilled":false,"durationMs":1}"""));

        await client.RunAsync("box", "make && ./a.out");

        Assert.Equal("""{"command":"make \u0026\u0026 ./a.out"}""", handler.Sent[0].Body);
    }

    [Fact]
    public void Constructor_RefusesARelativeAddressOrAnEmptyKey()
    {
        Assert.Throws<ArgumentException>(() => new HutchClient(new Uri("/v1", UriKind.Relative), "key"));
        Assert.Throws<ArgumentException>(() => new HutchClient(new Uri("http://x"), " "));
    }
}
