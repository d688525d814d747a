using System.Runtime.CompilerServices;
using Hutch.Cli;
using Hutch.Cli.Commands;
using Hutch.Cli.Engines;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Cli;

[Trait("Category", "Unit")]
public class RunCommandTests
{
    /// <summary>An engine that records calls; exec prints "out" and exits with the given status, or waits to be cancelled.</summary>
    private sealed class FakeEngine(int exitCode = 0, bool hang = false) : IRunEngine
    {
        public List<string> Calls { get; } = [];
        public ExecRequest? LastExec { get; private set; }
        public string? HostWorkspace { get; private set; }

        private static SandboxInfo Info(string id) =>
            new(id, null, SandboxStates.Running, DateTimeOffset.UnixEpoch, null, "user", "/workspace", new SandboxLimits(), null);

        public Task<SandboxInfo> CreateAsync(CreateSandboxRequest request, string? hostWorkspace = null, CancellationToken cancellationToken = default)
        {
            Calls.Add("create");
            HostWorkspace = hostWorkspace;
            return Task.FromResult(Info("sbx1"));
        }


        public Task DeleteAsync(string idOrName, bool keepWorkspace = false, CancellationToken cancellationToken = default)
        {
            Calls.Add($"delete {idOrName}");
            return Task.CompletedTask;
        }

        public Task<ExecResult> ExecAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default)
        {
            Calls.Add("exec");
            LastExec = request;
            return Task.FromResult(new ExecResult(exitCode, null, "out", "", "utf8", false, false, false, 1));
        }

        public async IAsyncEnumerable<ExecEvent> ExecStreamAsync(string idOrName, ExecRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Calls.Add("exec-stream");
            LastExec = request;
            yield return new ExecStartEvent(7);
            yield return new ExecStdoutEvent("out"u8.ToArray());
            if (hang)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            yield return new ExecExitEvent(exitCode, null, false, false, false, 0);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static Task<int> RunAsync(TestConsole console, FakeEngine engine, bool keep = false, bool json = false, string? workspace = null, CancellationToken cancellationToken = default) =>
        RunCommand.RunAsync(console.Console, engine, new CreateSandboxRequest(), workspace, new ExecRequest(Argv: ["x"], KillOnDisconnect: true),
            Task.FromResult<string?>("aW4="), keep, json, Hutch.Cli.Exec.OutputCap.Default, cancellationToken);

    [Fact]
    public async Task Run_CreatesExecsAndDeletes_AndExitsWithTheCommandsStatus()
    {
        var console = new TestConsole();
        var engine = new FakeEngine(exitCode: 3);

        var exit = await RunAsync(console, engine, workspace: "/host/dir");

        Assert.Equal(3, exit);
        Assert.Equal(["create", "exec-stream", "delete sbx1"], engine.Calls);
        Assert.Equal("out", console.StdoutText);
        Assert.Equal("aW4=", engine.LastExec!.StdinBase64);
        Assert.Equal("/host/dir", engine.HostWorkspace);
    }

    [Fact]
    public async Task Run_WithKeep_LeavesTheSandbox_AndSaysWhichOne()
    {
        var console = new TestConsole();
        var engine = new FakeEngine();

        await RunAsync(console, engine, keep: true);

        Assert.DoesNotContain("delete sbx1", engine.Calls);
        Assert.Contains("kept sandbox sbx1", console.Error.ToString());
    }

    [Fact]
    public async Task Run_WithJson_PrintsTheExecResult()
    {
        var console = new TestConsole();
        var engine = new FakeEngine(exitCode: 1);

        var exit = await RunAsync(console, engine, json: true);

        Assert.Equal(1, exit);
        Assert.Equal(["create", "exec", "delete sbx1"], engine.Calls);
        Assert.Contains("\"exitCode\": 1", console.Out.ToString());
    }

    [Fact]
    public async Task Run_Interrupted_StillDeletesTheSandbox()
    {
        var console = new TestConsole();
        var engine = new FakeEngine(hang: true);
        using var cts = new CancellationTokenSource();

        var run = RunAsync(console, engine, cancellationToken: cts.Token);
        while (!engine.Calls.Contains("exec-stream"))
        {
            await Task.Delay(5);
        }
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal("delete sbx1", engine.Calls[^1]);
    }
}
