using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Shells;

/// <summary>PTY shells through the HTTP API, on real runc: interactive programs driven by typed input.</summary>
[Collection(DaemonCollection.Name)]
public class ShellTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task PythonRepl_DrivenByTypedInput_PrintsTheResult_AndExitsWithItsCode()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Argv: ["python3", "-q"]));
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);

        await screen.WaitForAsync(">>> ");
        await screen.TypeAsync("print(6*7)\r");
        var answer = await screen.WaitForAsync(">>> ");
        await screen.TypeAsync("exit(5)\r");
        var ended = await screen.WaitForEndAsync();

        Assert.Contains("print(6*7)\r\n42\r\n", answer);
        Assert.Equal(ProcessStates.Exited, ended.State);
        Assert.Equal(5, ended.ExitCode);
    }

    [Fact]
    public async Task DefaultShell_IsAnInteractiveLoginBash_WithJobControlAndTerm_AndReadGetsTheTypedLine()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);

        await screen.TypeAsync("read -p $((6*7))'> ' x; echo got:$x\r");
        // Typed only once read asks: keys typed earlier are readline's typeahead, for the next command line.
        await screen.WaitForAsync("42> ");
        await screen.TypeAsync("hello there\r");
        await screen.WaitForAsync("got:hello there");
        await screen.TypeAsync("echo term=$TERM tty=$(tty) jobs=$- login=$(shopt -q login_shell && echo yes)\r");
        var about = await screen.WaitForAsync("login=yes");

        Assert.Equal(["/bin/bash", "-l"], shell.Argv);
        Assert.Equal(new TerminalSize(80, 24), shell.Terminal);
        Assert.Contains("term=xterm-256color tty=/dev/pts/", about);
        Assert.Matches("jobs=[a-zA-Z]*m", about); // monitor mode: job control is on
        Assert.DoesNotContain("no job control", screen.Text);
    }

    [Fact]
    public async Task SttySize_ShowsTheOpenedSize_ThenTheResizedOne()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Cols: 100, Rows: 30));
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);

        await screen.TypeAsync("stty size\r");
        await screen.WaitForAsync("30 100\r\n");
        var resized = await Client.ResizeShellAsync(sandbox.Id, shell.Id, 132, 43);
        await screen.TypeAsync("stty size\r");
        await screen.WaitForAsync("43 132\r\n");

        Assert.Equal(new TerminalSize(132, 43), resized.Terminal);
        Assert.Equal(new TerminalSize(132, 43), (await Client.GetShellAsync(sandbox.Id, shell.Id)).Terminal);
    }

    [Fact]
    public async Task Resize_IsSeenByTheProgramInTheForeground_AsSigwinch()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(
            Command: "trap 'echo winch:$(stty size)' WINCH; echo ready; while true; do sleep 0.05; done"));
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);
        await screen.WaitForAsync("ready");

        await Client.ResizeShellAsync(sandbox.Id, shell.Id, 90, 33);

        await screen.WaitForAsync("winch:33 90");
    }

    [Fact]
    public async Task Interrupt_StopsTheCommandInTheForeground_AndTheShellLivesOn()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);

        await screen.TypeAsync("sleep 100\r");
        await sandbox.WaitForProgramAsync("sleep");
        var signalled = await Client.SignalShellAsync(sandbox.Id, shell.Id, "INT");
        // bash, like a terminal user, sees its foreground job die of SIGINT: $? is 128+2.
        await screen.TypeAsync("echo after-$?\r");
        await screen.WaitForAsync("after-130");
        await screen.TypeAsync("echo still-$((40+2))\r");
        await screen.WaitForAsync("still-42");

        Assert.Equal(ProcessStates.Running, signalled.State);
        Assert.Equal(ProcessStates.Running, (await Client.GetShellAsync(sandbox.Id, shell.Id)).State);
    }

    [Fact]
    public async Task CtrlC_TypedAsByte3_InterruptsLikeAKeyboard()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);

        await screen.TypeAsync("sleep 100\r");
        await sandbox.WaitForProgramAsync("sleep");
        await screen.TypeAsync("\u0003");
        await screen.TypeAsync("echo status-$?\r");

        await screen.WaitForAsync("status-130");
        Assert.Equal(ProcessStates.Running, (await Client.GetShellAsync(sandbox.Id, shell.Id)).State);
    }

    [Fact]
    public async Task Close_HangsUpTheShellAndItsJobs_AndItsExitAndOutputStayReadable()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Name: "tab1"));
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);
        await screen.TypeAsync("sleep 1000 & echo started\r");
        await screen.WaitForAsync("started");

        var closed = await Client.CloseShellAsync(sandbox.Id, "tab1");
        var later = await Client.GetShellAsync(sandbox.Id, shell.Id);
        var output = await Client.ReadShellOutputAsync(sandbox.Id, shell.Id);
        var left = await sandbox.ShAsync("pgrep -c sleep || true");

        Assert.Equal(ProcessStates.Killed, closed.State);
        Assert.Equal("SIGHUP", closed.Signal);
        Assert.NotNull(closed.EndedAt);
        Assert.Equal(closed.Signal, later.Signal);
        Assert.Contains("started", output.Data);
        Assert.False(output.More);
        Assert.Equal("0\n", left.Stdout);
    }

    [Fact]
    public async Task Close_OfAShellThatIgnoresHangUp_KillsItAfterTheGrace()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Command: "trap '' HUP; echo deaf; while true; do sleep 0.05; done"));
        await new ShellScreen(Client, sandbox.Id, shell.Id).WaitForAsync("deaf");

        var closed = await Client.CloseShellAsync(sandbox.Id, shell.Id, TimeSpan.FromMilliseconds(300));

        Assert.Equal(ProcessStates.Killed, closed.State);
        Assert.Equal("SIGKILL", closed.Signal);
    }

    [Fact]
    public async Task AShell_IsAProcess_ToTheProcessRoutes_WithItsTerminal()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Command: "echo from-the-terminal; exit 4", Cols: 70, Rows: 20));
        var ended = await Client.WaitProcessAsync(sandbox.Id, shell.Id, TimeSpan.FromSeconds(20));
        var logs = await Client.ReadProcessLogsAsync(sandbox.Id, shell.Id);
        var background = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "true"));

        var shells = await Client.ListShellsAsync(sandbox.Id);
        var processes = await Client.ListProcessesAsync(sandbox.Id);

        Assert.Equal(4, ended.ExitCode);
        Assert.Equal(new TerminalSize(70, 20), ended.Terminal);
        Assert.Equal("from-the-terminal\r\n", logs.Stdout);
        Assert.Equal("", logs.Stderr);
        Assert.Equal([shell.Id], shells.Select(s => s.Id));
        Assert.Equal(2, processes.Count);
        Assert.Null(processes.Single(p => p.Id == background.Id).Terminal);
    }

    [Fact]
    public async Task UnknownShell_Is404_AndAProcessWithoutATerminalIsNotAShell()
    {
        await using var sandbox = await fixture.CreateAsync();
        var process = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "sleep 30"));

        var missing = await Assert.ThrowsAsync<HutchApiException>(() => Client.GetShellAsync(sandbox.Id, "p-nosuchthing"));
        var notAShell = await Assert.ThrowsAsync<HutchApiException>(() => Client.WriteShellInputAsync(sandbox.Id, process.Id, "x"));
        var attach = await Assert.ThrowsAsync<HutchApiException>(() => Client.AttachShellAsync(sandbox.Id, "nosuchname"));
        var noSandbox = await Assert.ThrowsAsync<HutchApiException>(() => Client.OpenShellAsync("sb-nosuch"));

        Assert.Equal((ErrorCodes.ShellNotFound, 404), (missing.Code, missing.Status));
        Assert.Equal((ErrorCodes.ShellNotFound, 404), (notAShell.Code, notAShell.Status));
        Assert.Equal(ErrorCodes.ShellNotFound, attach.Code);
        Assert.Equal((ErrorCodes.SandboxNotFound, 404), (noSandbox.Code, noSandbox.Status));
    }

    [Fact]
    public async Task SignalsOutsideIntTermHupKill_AreRefused()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);

        var usr1 = await Assert.ThrowsAsync<HutchApiException>(() => Client.SignalShellAsync(sandbox.Id, shell.Id, "USR1"));
        var stop = await Assert.ThrowsAsync<HutchApiException>(() => Client.SignalShellAsync(sandbox.Id, shell.Id, "SIGSTOP"));
        var number = await Assert.ThrowsAsync<HutchApiException>(() => Client.SignalShellAsync(sandbox.Id, shell.Id, "2"));
        var killed = await Client.SignalShellAsync(sandbox.Id, shell.Id, "kill");
        var ended = await new ShellScreen(Client, sandbox.Id, shell.Id).WaitForEndAsync();

        Assert.All([usr1, stop, number], e => Assert.Equal((ErrorCodes.InvalidSignal, 400), (e.Code, e.Status)));
        Assert.Equal("SIGKILL", ended.Signal);
        Assert.NotNull(killed);
    }

    [Fact]
    public async Task SizesOutside1To1000_AreRefused_AndNothingIsStarted()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);

        var zero = await Assert.ThrowsAsync<HutchApiException>(() => Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Cols: 0)));
        var huge = await Assert.ThrowsAsync<HutchApiException>(() => Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Rows: 1001)));
        var resize = await Assert.ThrowsAsync<HutchApiException>(() => Client.ResizeShellAsync(sandbox.Id, shell.Id, 80, -1));

        Assert.All([zero, huge, resize], e => Assert.Equal((ErrorCodes.InvalidTerminalSize, 400), (e.Code, e.Status)));
        Assert.Single(await Client.ListShellsAsync(sandbox.Id));
    }

    [Fact]
    public async Task BadOpenRequests_GetClearCodes()
    {
        await using var sandbox = await fixture.CreateAsync();

        var notFound = await Assert.ThrowsAsync<HutchApiException>(() => Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Argv: ["no-such-shell-xyz"])));
        var badName = await Assert.ThrowsAsync<HutchApiException>(() => Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Name: "Bad Name")));
        var both = await Assert.ThrowsAsync<HutchApiException>(() => Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Argv: ["sh"], Command: "sh")));
        var cwd = await Assert.ThrowsAsync<HutchApiException>(() => Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Cwd: "/etc")));

        Assert.Equal(ErrorCodes.CommandNotFound, notFound.Code);
        Assert.Equal(ErrorCodes.InvalidName, badName.Code);
        Assert.Equal(ErrorCodes.EmptyCommand, both.Code);
        Assert.Equal(ErrorCodes.CwdOutsideWorkspace, cwd.Code);
        Assert.Empty(await Client.ListShellsAsync(sandbox.Id));
    }

    [Fact]
    public async Task Shells_ReapTheirOrphans_NoZombieIsLeft()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);

        // Subshells whose children outlive them: the children are re-parented to the agent (pid 1).
        await screen.TypeAsync("for i in 1 2 3 4 5; do (sleep 0.2 &); done; echo spawned\r");
        await screen.WaitForAsync("spawned");
        await Task.Delay(800);
        var zombies = await sandbox.ShAsync("ps -eo stat= | grep -c '^Z' || true");
        await Client.CloseShellAsync(sandbox.Id, shell.Id);
        var afterClose = await sandbox.ShAsync("ps -eo stat= | grep -c '^Z' || true");

        Assert.Equal("0\n", zombies.Stdout);
        Assert.Equal("0\n", afterClose.Stdout);
    }

    [Fact]
    public async Task DeletingTheSandbox_WithShellsRunning_LeavesNothingOnTheHost()
    {
        var sandbox = await fixture.CreateAsync();
        var marker = $"hutch-shell-marker-{Guid.NewGuid():N}"[..32];
        var shell = await Client.OpenShellAsync(sandbox.Id);
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);
        await screen.TypeAsync($"(exec -a {marker} sleep 1000 &); exec -a {marker}-2 sleep 1000 & echo up\r");
        await screen.WaitForAsync("up");
        // The jobs exec after the shell printed "up": wait until the host sees both.
        var before = HostInspector.ProcessesWithCommandLine(marker);
        for (var i = 0; i < 200 && before.Count < 2; i++)
        {
            await Task.Delay(20);
            before = HostInspector.ProcessesWithCommandLine(marker);
        }

        await sandbox.DisposeAsync();

        Assert.Equal(2, before.Count);
        Assert.False(Directory.Exists(Path.Join(fixture.DataDir, "sandboxes", sandbox.Id)));
        Assert.Empty(HostInspector.CgroupDirsOf(sandbox.Id));
        Assert.Empty(HostInspector.ProcessesWithCommandLine(marker));
    }
}
