using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// Issue #16: a delete that cannot remove everything says so (sandbox_delete_incomplete, state
/// "deleting") instead of answering as if it had, and the daemon finishes it later: by itself, and
/// after a restart. The runtime here is runc behind a wrapper whose `delete` fails while a file exists.
/// </summary>
public sealed class DeleteRetryTests : IAsyncLifetime
{
    private readonly string _dataDir = TestPaths.NewTempDir("hutch-del");
    private string FailFile => Path.Join(_dataDir, "fail-delete");
    private string Wrapper => Path.Join(_dataDir, "runc-wrapper");
    private SandboxEngine _engine = null!;

    private HutchOptions Options => new() { DataDir = _dataDir, AgentPath = TestPaths.Agent, WarmPool = 0, Runtime = Wrapper };

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(Wrapper, $"""
            #!/bin/sh
            for a in "$@"; do
              if [ "$a" = delete ] && [ -e {FailFile} ]; then echo "injected: the runtime cannot delete now" >&2; exit 1; fi
            done
            exec runc "$@"
            """.Replace("\r", ""));
        File.SetUnixFileMode(Wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _engine = await SandboxEngine.OpenDaemonAsync(Options);
    }

    public async Task DisposeAsync()
    {
        File.Delete(FailFile);
        foreach (var sandbox in await _engine.ListAsync())
        {
            await _engine.DeleteAsync(sandbox.Id);
        }
        await _engine.DisposeAsync();
        TestPaths.DeleteDataDir(_dataDir);
    }

    [Fact]
    public async Task ADeleteThatFails_SaysSo_LeavesItDeleting_AndTheDaemonFinishesIt()
    {
        var sandbox = await _engine.CreateAsync(new CreateSandboxRequest());
        await File.WriteAllTextAsync(FailFile, "");

        var e = await Assert.ThrowsAsync<HutchException>(() => _engine.DeleteAsync(sandbox.Id));

        Assert.Equal(ErrorCodes.SandboxDeleteIncomplete, e.Code);
        Assert.Equal(503, ErrorStatus.Of(e.Code));
        Assert.Equal(SandboxStates.Deleting, (await _engine.GetAsync(sandbox.Id)).State);
        Assert.NotEmpty(HostInspector.CgroupDirsOf(sandbox.Id));

        File.Delete(FailFile);

        Assert.True(await GoneWithinAsync(sandbox.Id, TimeSpan.FromSeconds(10)), "the daemon did not finish the delete on its own");
        Assert.Empty(HostInspector.LeftoversOf(_dataDir, sandbox.Id));
    }

    [Fact]
    public async Task ADeleteLeftDeleting_IsFinishedByTheNextDaemon()
    {
        var sandbox = await _engine.CreateAsync(new CreateSandboxRequest());
        await File.WriteAllTextAsync(FailFile, "");
        await Assert.ThrowsAsync<HutchException>(() => _engine.DeleteAsync(sandbox.Id));
        await _engine.DisposeAsync();

        File.Delete(FailFile);
        _engine = await SandboxEngine.OpenDaemonAsync(Options);

        Assert.True(await GoneWithinAsync(sandbox.Id, TimeSpan.FromSeconds(10)), "the next daemon did not finish the delete");
        Assert.Empty(HostInspector.LeftoversOf(_dataDir, sandbox.Id));
    }

    [Fact]
    public async Task ADeleteThatKeepsTheWorkspace_KeepsItThroughARetryByTheNextDaemon()
    {
        var sandbox = await _engine.CreateAsync(new CreateSandboxRequest());
        await _engine.ExecAsync(sandbox.Id, new ExecRequest(Command: "echo mine > result.txt"));
        await File.WriteAllTextAsync(FailFile, "");
        await Assert.ThrowsAsync<HutchException>(() => _engine.DeleteAsync(sandbox.Id, keepWorkspace: true));
        await _engine.DisposeAsync();

        File.Delete(FailFile);
        _engine = await SandboxEngine.OpenDaemonAsync(Options);

        Assert.True(await GoneWithinAsync(sandbox.Id, TimeSpan.FromSeconds(10)), "the next daemon did not finish the delete");
        Assert.Equal("mine\n", await File.ReadAllTextAsync(Path.Join(_dataDir, "workspaces", sandbox.Id, "workspace", "result.txt")));
        var leftovers = HostInspector.SandboxLeftovers(_dataDir);
        Assert.Equal([Path.Join(_dataDir, "workspaces", sandbox.Id)], leftovers);
    }

    private async Task<bool> GoneWithinAsync(string id, TimeSpan limit)
    {
        for (var waited = TimeSpan.Zero; waited < limit; waited += TimeSpan.FromMilliseconds(100))
        {
            if ((await _engine.ListAsync()).All(s => s.Id != id))
            {
                return true;
            }
            await Task.Delay(100);
        }
        return false;
    }
}
