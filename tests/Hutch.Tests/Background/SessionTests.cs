using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Background;

[Collection(DaemonCollection.Name)]
public class SessionTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task ASession_KeepsCwdVariablesAndFunctions_AcrossExecs()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("mkdir -p src/deep");
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "dev"));

        await Client.SessionExecAsync(sandbox.Id, "dev", "cd src/deep");
        await Client.SessionExecAsync(sandbox.Id, "dev", "export GREETING='hello there'; shout() { echo \"$1!\"; }");
        var result = await Client.SessionExecAsync(sandbox.Id, "dev", "pwd; echo \"$GREETING\"; shout hey");

        Assert.Equal("/workspace/src/deep\nhello there\nhey!\n", result.Stdout);
        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task SessionExec_SeparatesStreams_KeepsOutputWithoutNewline_AndReportsTheExitCode()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "s"));

        var result = await Client.SessionExecAsync(sandbox.Id, "s", "printf 'no newline'; echo oops >&2; false");
        var quoted = await Client.SessionExecAsync(sandbox.Id, "s", "echo \"it's a 'quote' and a \\\"double\\\" % \\\\ $((1+2))\"");
        var unclosed = await Client.SessionExecAsync(sandbox.Id, "s", "echo 'unclosed");
        var after = await Client.SessionExecAsync(sandbox.Id, "s", "echo still-alive");

        Assert.Equal(("no newline", "oops\n", 1), (result.Stdout, result.Stderr, result.ExitCode));
        Assert.Equal("it's a 'quote' and a \"double\" % \\ 3\n", quoted.Stdout);
        Assert.NotEqual(0, unclosed.ExitCode);
        Assert.Equal("still-alive\n", after.Stdout);
    }

    [Fact]
    public async Task SessionsOfOneSandbox_AreIndependent()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "a"));
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "b"));

        await Client.SessionExecAsync(sandbox.Id, "a", "export WHO=a; cd /tmp");
        var b = await Client.SessionExecAsync(sandbox.Id, "b", "echo \"[$WHO]\"; pwd");

        Assert.Equal("[]\n/workspace\n", b.Stdout);
    }

    [Fact]
    public async Task ExecsOfOneSession_RunInOrder()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "seq"));

        var all = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            Client.SessionExecAsync(sandbox.Id, "seq", $"echo {i} >> order; sleep 0.0{i}")));
        var order = await Client.SessionExecAsync(sandbox.Id, "seq", "wc -l < order");

        Assert.All(all, r => Assert.Equal(0, r.ExitCode));
        Assert.Equal("10\n", order.Stdout);
    }

    [Fact]
    public async Task ATimeout_KillsTheCommandButNotTheSession()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "t"));
        await Client.SessionExecAsync(sandbox.Id, "t", "export KEPT=yes");

        var slow = await Client.SessionExecAsync(sandbox.Id, "t", new SessionExecRequest("echo started; sleep 100", TimeoutMs: 300));
        var after = await Client.SessionExecAsync(sandbox.Id, "t", "echo $KEPT");

        Assert.True(slow.TimedOut);
        Assert.Equal("started\n", slow.Stdout);
        Assert.Equal("SIGKILL", slow.Signal);
        Assert.Equal("yes\n", after.Stdout);
    }

    [Fact]
    public async Task ExitInASession_EndsIt_WithThatStatus_AndLaterExecsAreRefused()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "x"));

        var exit = await Client.SessionExecAsync(sandbox.Id, "x", "echo bye; exit 5");
        var info = await Client.GetSessionAsync(sandbox.Id, "x");
        var refused = await Assert.ThrowsAsync<HutchApiException>(() => Client.SessionExecAsync(sandbox.Id, "x", "true"));

        Assert.Equal(("bye\n", 5), (exit.Stdout, exit.ExitCode));
        Assert.Equal(SessionStates.Ended, info.State);
        Assert.Equal(ErrorCodes.SessionEnded, refused.Code);
    }

    [Fact]
    public async Task DeletingASession_KillsOnlyItsOwnProcesses()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "doomed"));
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "other"));
        await Client.SessionExecAsync(sandbox.Id, "doomed", "sleep 1001 & sleep 1002 &");
        await Client.SessionExecAsync(sandbox.Id, "other", "sleep 1003 &");
        var outside = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Argv: ["sleep", "1004"]));

        await Client.DeleteSessionAsync(sandbox.Id, "doomed");
        var left = await sandbox.ShAsync("ps -eo args | grep '^sleep' | sort");

        Assert.Equal("sleep 1003\nsleep 1004\n", left.Stdout);
        Assert.Equal(ProcessStates.Running, (await Client.GetProcessAsync(sandbox.Id, outside.Id)).State);
        Assert.Equal(["other"], (await Client.ListSessionsAsync(sandbox.Id)).Select(s => s.Name));
        var gone = await Assert.ThrowsAsync<HutchApiException>(() => Client.SessionExecAsync(sandbox.Id, "doomed", "true"));
        Assert.Equal((ErrorCodes.SessionNotFound, 404), (gone.Code, gone.Status));
    }

    [Fact]
    public async Task BadSessionInput_GetsClearCodes()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "dup"));

        var taken = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "dup")));
        var badName = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "Not OK")));
        var empty = await Assert.ThrowsAsync<HutchApiException>(() => Client.SessionExecAsync(sandbox.Id, "dup", " "));
        var reserved = await Assert.ThrowsAsync<HutchApiException>(() => Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "true", Name: "session-dup")));

        Assert.Equal((ErrorCodes.NameTaken, 409), (taken.Code, taken.Status));
        Assert.Equal(ErrorCodes.InvalidName, badName.Code);
        Assert.Equal(ErrorCodes.EmptyCommand, empty.Code);
        Assert.Equal(ErrorCodes.InvalidName, reserved.Code);
    }
}
