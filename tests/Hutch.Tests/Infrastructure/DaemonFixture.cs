using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Infrastructure;

/// <summary>
/// A real daemon (real runc, real agent) on a random loopback port with its own data dir, shared by
/// the tests of one collection. Everything it created is deleted at the end. A subclass may change the
/// daemon's options (<see cref="Configure"/>), e.g. to give it low limits.
/// </summary>
public class DaemonFixture : IAsyncLifetime
{
    public string DataDir { get; } = TestPaths.NewTempDir("hutch-t");
    public RunningDaemon Daemon { get; private set; } = null!;
    public HutchClient Client { get; private set; } = null!;
    public HutchOptions Options { get; private set; } = null!;
    public string ApiKey { get; private set; } = "";

    public virtual async Task InitializeAsync()
    {
        Options = Configure(new HutchOptions { DataDir = DataDir, Url = "http://127.0.0.1:0", AgentPath = TestPaths.Agent });
        Daemon = await DaemonHost.StartAsync(Options);
        ApiKey = (await File.ReadAllTextAsync(Options.ApiKeyFile)).Trim();
        Client = new HutchClient(new Uri(Daemon.Url), ApiKey);
    }

    /// <summary>The daemon's options: the defaults with a private data dir, unless a subclass says otherwise.</summary>
    protected virtual HutchOptions Configure(HutchOptions options) => options;

    /// <summary>A plain HttpClient with the key, for requests the SDK would not send (malformed ones).</summary>
    public HttpClient RawHttp()
    {
        var http = new HttpClient { BaseAddress = new Uri(Daemon.Url), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ApiKey);
        return http;
    }

    /// <summary>The problem+json body of an error response (asserting that it is one).</summary>
    public static async Task<Problem> ProblemOf(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return System.Text.Json.JsonSerializer.Deserialize(await response.Content.ReadAsStringAsync(), ApiJsonContext.Default.Problem)!;
    }

    /// <summary>
    /// POSTs a JSON body to a route of a fresh sandbox ("" is the create route itself) and returns the
    /// answer's status and problem: for the bad-input tests.
    /// </summary>
    public async Task<(System.Net.HttpStatusCode Status, Problem Problem)> PostForProblemAsync(string route, string body)
    {
        await using var sandbox = await CreateAsync();
        using var http = RawHttp();
        var path = route.Length == 0 ? "/v1/sandboxes" : $"/v1/sandboxes/{sandbox.Id}{route}";
        var response = await http.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        return (response.StatusCode, await ProblemOf(response));
    }

    /// <summary>Creates a sandbox that is deleted when the returned handle is disposed.</summary>
    public async Task<TestSandbox> CreateAsync(CreateSandboxRequest? request = null) =>
        new(Client, await Client.CreateSandboxAsync(request ?? new CreateSandboxRequest()));

    public virtual async Task DisposeAsync()
    {
        foreach (var sandbox in await Client.ListSandboxesAsync())
        {
            await Client.DeleteSandboxAsync(sandbox.Id);
        }
        Client.Dispose();
        await Daemon.DisposeAsync();
        // A clean stop deletes the warm pool: any container the runtime still knows is a leak.
        var leaked = new List<string>();
        foreach (var id in Directory.GetDirectories(Path.Join(DataDir, "runc")).Select(Path.GetFileName))
        {
            // What runc knows of it (status, pid, created) says which path left it.
            using var state = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("runc", ["--root", Path.Join(DataDir, "runc"), "state", id!]) { RedirectStandardOutput = true })!;
            leaked.Add($"{id}: {(await state.StandardOutput.ReadToEndAsync()).ReplaceLineEndings(" ")}");
            using var cleanup = System.Diagnostics.Process.Start("runc", ["--root", Path.Join(DataDir, "runc"), "delete", "--force", id!]);
            await cleanup.WaitForExitAsync();
        }
        TestPaths.DeleteDataDir(DataDir);
        Assert.True(leaked.Count == 0, $"the daemon left containers running after it stopped: {string.Join("; ", leaked)}");
    }
}

/// <summary>A sandbox owned by one test.</summary>
public sealed class TestSandbox(HutchClient client, SandboxInfo info) : IAsyncDisposable
{
    public SandboxInfo Info { get; } = info;
    public string Id => Info.Id;

    public Task<ExecResult> ShAsync(string command, long? timeoutMs = null) =>
        client.ExecAsync(Id, new ExecRequest(Command: command, TimeoutMs: timeoutMs));

    /// <summary>Runs a python3 script (the host's, read-only in the sandbox) given as its text.</summary>
    public Task<ExecResult> PythonAsync(string script, long? timeoutMs = null) =>
        client.ExecAsync(Id, new ExecRequest(Argv: ["python3", "-c", script], TimeoutMs: timeoutMs));

    /// <summary>Waits until a process named <paramref name="program"/> runs in the sandbox (pgrep -x), for up to 4 s.</summary>
    public async Task WaitForProgramAsync(string program)
    {
        for (var i = 0; i < 200; i++)
        {
            if ((await ShAsync($"pgrep -x {program} >/dev/null && echo yes || true")).Stdout == "yes\n")
            {
                return;
            }
            await Task.Delay(20);
        }
        Assert.Fail($"{program} never started in sandbox {Id}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await client.DeleteSandboxAsync(Id);
        }
        catch (HutchApiException e) when (e.Code == ErrorCodes.SandboxNotFound)
        {
            // The test deleted it itself.
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DaemonCollection : ICollectionFixture<DaemonFixture>
{
    public const string Name = "daemon";
}
