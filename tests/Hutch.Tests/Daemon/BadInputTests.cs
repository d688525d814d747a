using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>Every refusal is a 4xx problem+json with a stable code, and nothing is created.</summary>
[Collection(DaemonCollection.Name)]
public class BadInputTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task UnknownSandbox_Is404()
    {
        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync("sb-doesnotexist", "true"));
        Assert.Equal((404, ErrorCodes.SandboxNotFound), (e.Status, e.Code));
    }

    [Fact]
    public async Task NameTaken_Is409()
    {
        var name = "dup-" + Guid.NewGuid().ToString("N")[..8];
        await using var first = await fixture.CreateAsync(new CreateSandboxRequest(Name: name));
        var before = (await Client.ListSandboxesAsync()).Count;

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(Name: name)));

        Assert.Equal((409, ErrorCodes.NameTaken), (e.Status, e.Code));
        Assert.Equal(before, (await Client.ListSandboxesAsync()).Count);
    }

    [Theory]
    [InlineData("../outside", ErrorCodes.CwdOutsideWorkspace)]
    [InlineData("/workspace/../../etc", ErrorCodes.CwdOutsideWorkspace)]
    public async Task Create_WithCwdOutsideWorkspace_IsRefused(string cwd, string code)
    {
        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(Cwd: cwd)));
        Assert.Equal((400, code), (e.Status, e.Code));
        Assert.Contains("Give a path inside /workspace", e.Detail);
    }

    [Theory]
    [InlineData(1L, null, null, null)]
    [InlineData(null, 1_000_000, null, null)]
    [InlineData(null, null, 0.0, null)]
    [InlineData(null, null, null, 0L)]
    public async Task Create_WithLimitsOutOfRange_IsRefused(long? memory, int? pids, double? cpus, long? tmp)
    {
        var e = await Assert.ThrowsAsync<HutchApiException>(() =>
            Client.CreateSandboxAsync(new CreateSandboxRequest(Limits: new SandboxLimits(memory, pids, cpus, tmp))));
        Assert.Equal((400, ErrorCodes.LimitOutOfRange), (e.Status, e.Code));
        Assert.Contains("between", e.Detail);
    }

    [Theory]
    [InlineData("A=B")]
    [InlineData("A\0B")]
    [InlineData("")]
    public async Task EnvNames_WithEqualsOrNul_AreRefused(string name)
    {
        var e = await Assert.ThrowsAsync<HutchApiException>(() =>
            Client.CreateSandboxAsync(new CreateSandboxRequest(Env: new() { [name] = "x" })));
        Assert.Equal((400, ErrorCodes.InvalidEnv), (e.Status, e.Code));
    }

    [Fact]
    public async Task Exec_WithEmptyCommand_IsRefused()
    {
        await using var sandbox = await fixture.CreateAsync();
        foreach (var request in new[] { new ExecRequest(), new ExecRequest(Argv: []), new ExecRequest(Command: "  ") })
        {
            var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, request));
            Assert.Equal((400, ErrorCodes.EmptyCommand), (e.Status, e.Code));
        }
    }

    [Fact]
    public async Task Exec_WithCwdOutsideWorkspace_IsRefused()
    {
        await using var sandbox = await fixture.CreateAsync();
        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Argv: ["pwd"], Cwd: "/workspace/../etc")));
        Assert.Equal((400, ErrorCodes.CwdOutsideWorkspace), (e.Status, e.Code));
    }

    [Fact]
    public async Task InvalidNames_AreRefused()
    {
        foreach (var name in new[] { "Upper", "-dash", "sb-lookslikeanid", new string('a', 64), "a b" })
        {
            var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(Name: name)));
            Assert.Equal((400, ErrorCodes.InvalidName), (e.Status, e.Code));
        }
    }

    [Fact]
    public async Task UnknownJsonMember_IsRefusedWithProblem()
    {
        using var http = Raw();
        var response = await http.PostAsync("/v1/sandboxes", new StringContent("{\"nmae\":\"typo\"}", Encoding.UTF8, "application/json"));

        var problem = await ProblemOf(response);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(ErrorCodes.InvalidRequest, problem.Code);
        Assert.Contains("nmae", problem.Detail);
    }

    [Theory]
    [InlineData("", "{\"ttlSeconds\":\"60\"}", "ttlSeconds")]
    [InlineData("", "{\"limits\":{\"memoryMiB\":\"256\"}}", "memoryMiB")]
    [InlineData("/exec", "{\"command\":\"sleep 1\",\"timeoutMs\":\"5\"}", "timeoutMs")]
    [InlineData("/exec", "{\"command\":\"true\",\"maxOutputBytes\":\"1e3\"}", "maxOutputBytes")]
    public async Task NumbersGivenAsStrings_AreRefusedLikeAnyTypeError(string route, string body, string member)
    {
        var (status, problem) = await fixture.PostForProblemAsync(route, body);

        Assert.Equal((HttpStatusCode.BadRequest, ErrorCodes.InvalidRequest), (status, problem.Code));
        Assert.Contains(member, problem.Detail);
    }

    [Fact]
    public async Task MissingOrWrongApiKey_Is401()
    {
        using var http = Raw();
        http.DefaultRequestHeaders.Authorization = null;
        var none = await http.GetAsync("/v1/sandboxes");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "hk_wrong");
        var wrong = await http.GetAsync("/v1/sandboxes");

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(ErrorCodes.Unauthorized, (await ProblemOf(wrong)).Code);
    }

    [Fact]
    public async Task OpenApiDocument_IsServed()
    {
        using var http = Raw();
        var doc = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        Assert.True(doc.RootElement.GetProperty("paths").TryGetProperty("/v1/sandboxes/{id}/exec", out _));
        // The limited routes say they may answer 429 (docs/http-api.md#limits).
        foreach (var path in new[] { "/v1/sandboxes/{id}/exec", "/v1/sandboxes/{id}/exec/stream", "/v1/sandboxes/{id}/shells/{shell}/resize" })
        {
            var post = doc.RootElement.GetProperty("paths").GetProperty(path).GetProperty("post");
            Assert.True(post.GetProperty("responses").TryGetProperty("429", out _), $"{path}: {post}");
        }
    }

    [Fact]
    public async Task ApiKeyFile_IsPrivate()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(fixture.Options.ApiKeyFile));
        await Task.CompletedTask;
    }

    private HttpClient Raw() => fixture.RawHttp();

    private static Task<Problem> ProblemOf(HttpResponseMessage response) => DaemonFixture.ProblemOf(response);
}
