using Hutch.Linux;
using Hutch.Protocol.Agent;

namespace Hutch.Tests.Agent;

/// <summary>Running commands through a real agent process: output, exit, stdin, limits, process trees.</summary>
[Collection(AgentCollection.Name)]
public sealed class AgentExecTests(AgentFixture agent)
{
    [Fact]
    public async Task Exec_Echo_SeparatesStdoutAndStderr()
    {
        await using var connection = await agent.ConnectAsync();

        var outcome = await connection.RunAsync(AgentConnection.Sh("echo out; echo err >&2; echo more"));

        Assert.Null(outcome.Error);
        Assert.Equal("out\nmore\n", outcome.StdoutText);
        Assert.Equal("err\n", outcome.StderrText);
        Assert.Equal(0, outcome.Exited!.ExitCode);
        Assert.Null(outcome.Exited.Signal);
        Assert.False(outcome.Exited.TimedOut);
        Assert.False(outcome.Exited.Truncated);
    }

    [Fact]
    public async Task Exec_ReportsExitCode()
    {
        await using var connection = await agent.ConnectAsync();

        var outcome = await connection.RunAsync(AgentConnection.Sh("exit 42"));

        Assert.Equal(42, outcome.Exited!.ExitCode);
        Assert.Null(outcome.Exited.Signal);
    }

    [Fact]
    public async Task Exec_WhenKilledBySignal_ReportsSignal()
    {
        await using var connection = await agent.ConnectAsync();

        var outcome = await connection.RunAsync(AgentConnection.Sh("kill -USR1 $$; sleep 5"));

        Assert.Null(outcome.Exited!.ExitCode);
        Assert.Equal(10, outcome.Exited.Signal);
        Assert.False(outcome.Exited.TimedOut);
    }

    [Fact]
    public async Task Exec_UsesEnvAndCwdOfTheRequest()
    {
        await using var connection = await agent.ConnectAsync();
        var request = AgentConnection.Sh("echo \"$GREETING\"; pwd");
        request.Env["GREETING"] = "hello there";

        var outcome = await connection.RunAsync(request with { Cwd = "/usr" });

        Assert.Equal("hello there\n/usr\n", outcome.StdoutText);
    }

    [Fact]
    public async Task Exec_Stdin_RoundTripsEveryByteValue()
    {
        await using var connection = await agent.ConnectAsync();
        var input = new byte[1 << 20];
        for (var i = 0; i < input.Length; i++)
        {
            input[i] = (byte)(i * 7 + i / 256);
        }
        Assert.Equal(256, input.Distinct().Count());

        var outcome = await connection.RunAsync(AgentConnection.Command("cat"), input);

        Assert.Equal(0, outcome.Exited!.ExitCode);
        Assert.Equal(input.Length, outcome.Stdout.Length);
        Assert.True(input.AsSpan().SequenceEqual(outcome.Stdout), "stdout differs from stdin");
    }

    [Fact]
    public async Task Exec_WhenCommandIgnoresStdin_ExitsAndAgentSurvives()
    {
        await using var connection = await agent.ConnectAsync();

        // `true` exits without reading: the agent's writes hit EPIPE (never SIGPIPE) and are dropped.
        var outcome = await connection.RunAsync(AgentConnection.Command("true"), new byte[1 << 20]);

        Assert.Equal(0, outcome.Exited!.ExitCode);
        Assert.NotNull(await connection.PingAsync());
    }

    [Fact]
    public async Task Exec_WhenOutputExceedsCap_SetsTruncatedAndStillReportsExit()
    {
        await using var connection = await agent.ConnectAsync();

        var outcome = await connection.RunAsync(AgentConnection.Sh("head -c 5000000 /dev/zero; echo tail >&2; exit 3") with { MaxOutputBytes = 1000 });

        Assert.Equal(1000, outcome.Stdout.Length + outcome.Stderr.Length);
        Assert.True(outcome.Exited!.Truncated);
        Assert.Equal(3, outcome.Exited.ExitCode);
    }

    [Fact]
    public async Task Exec_WhenTimeoutExpires_KillsWholeTree()
    {
        await using var connection = await agent.ConnectAsync();
        var channel = connection.NewChannel();

        var pid = await connection.StartAsync(channel, AgentConnection.Sh("sleep 1000 & sleep 1000") with { TimeoutMs = 1000 });
        var tree = await WaitForTreeAsync(pid, atLeast: 2);
        var outcome = await connection.CollectAsync(channel, pid);

        Assert.True(outcome.Exited!.TimedOut);
        Assert.Equal(Processes.SIGKILL, outcome.Exited.Signal);
        Assert.InRange(outcome.Exited.DurationMs, 900, 5000);
        await AssertGoneAsync(tree);
        // The sandbox stays usable.
        Assert.Equal("ok\n", (await connection.RunAsync(AgentConnection.Sh("echo ok"))).StdoutText);
    }

    [Fact]
    public async Task Kill_SignalsWholeTree()
    {
        await using var connection = await agent.ConnectAsync();
        var channel = connection.NewChannel();

        var pid = await connection.StartAsync(channel, AgentConnection.Sh("sleep 1000 & sleep 1000"));
        var tree = await WaitForTreeAsync(pid, atLeast: 2);
        await connection.SendKillAsync(channel, Processes.SIGTERM);
        var outcome = await connection.CollectAsync(channel, pid);

        Assert.Equal(Processes.SIGTERM, outcome.Exited!.Signal);
        Assert.False(outcome.Exited.TimedOut);
        await AssertGoneAsync(tree);
    }

    [Fact]
    public async Task Exec_WhenBackgroundChildHoldsPipes_ReportsExitPromptly()
    {
        await using var connection = await agent.ConnectAsync();

        var outcome = await connection.RunAsync(AgentConnection.Sh("sleep 1000 & echo started"));
        try
        {
            Assert.Equal("started\n", outcome.StdoutText);
            Assert.Equal(0, outcome.Exited!.ExitCode);
            Assert.True(outcome.Elapsed < TimeSpan.FromSeconds(2), $"Exited took {outcome.Elapsed}");
        }
        finally
        {
            ProcTree.Kill(outcome.Pid); // the background sleep is still in the command's session
        }
    }

    [Fact]
    public async Task Exec_WhenCommandMissing_ReportsCommandNotFound()
    {
        await using var connection = await agent.ConnectAsync();

        var outcome = await connection.RunAsync(AgentConnection.Command("no-such-program-here", "x"));

        Assert.Equal("command_not_found", outcome.Error!.Code);
        Assert.Equal("no-such-program-here: command not found", outcome.Error.Message);
    }

    [Fact]
    public async Task Exec_WhenPathNotExecutable_ReportsPermissionDenied()
    {
        await using var connection = await agent.ConnectAsync();
        var script = Path.Join(agent.Dir, "not-executable.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho hi\n");

        var outcome = await connection.RunAsync(AgentConnection.Command(script));

        Assert.Equal("permission_denied", outcome.Error!.Code);
    }

    [Fact]
    public async Task Exec_WhenCwdMissing_ReportsCwdNotFound()
    {
        await using var connection = await agent.ConnectAsync();

        var outcome = await connection.RunAsync(AgentConnection.Command("true") with { Cwd = "/no/such/dir" });

        Assert.Equal("cwd_not_found", outcome.Error!.Code);
        Assert.Contains("/no/such/dir", outcome.Error.Message);
    }

    [Fact]
    public async Task Exec_HundredConcurrentOnOneConnection_AllComplete()
    {
        await using var connection = await agent.ConnectAsync();

        var runs = Enumerable.Range(0, 100)
            .Select(i => connection.RunAsync(AgentConnection.Sh($"echo out{i}; sleep 0.3; echo err{i} >&2; exit {i % 7}")))
            .ToArray();
        var outcomes = await Task.WhenAll(runs);

        for (var i = 0; i < outcomes.Length; i++)
        {
            Assert.Equal($"out{i}\n", outcomes[i].StdoutText);
            Assert.Equal($"err{i}\n", outcomes[i].StderrText);
            Assert.Equal(i % 7, outcomes[i].Exited!.ExitCode);
        }
        Assert.Equal(100, outcomes.Select(o => o.Pid).Distinct().Count());
    }

    [Fact]
    public async Task Exec_DoesNotInheritAgentDescriptors()
    {
        await using var connection = await agent.ConnectAsync();

        var outcome = await connection.RunAsync(AgentConnection.Sh("ls /proc/$$/fd; true"));

        Assert.Equal("0\n1\n2\n", outcome.StdoutText);
    }

    [Fact]
    public async Task Exec_WhenConnectionDrops_KeepsRunningAndAgentStillAnswers()
    {
        var marker = Path.Join(agent.Dir, $"finished-{Guid.NewGuid():N}");
        var first = await agent.ConnectAsync();
        var pid = await first.StartAsync(first.NewChannel(), AgentConnection.Sh($"sleep 0.5; echo done > {marker}"));
        await first.DisposeAsync();

        await using var second = await agent.ConnectAsync();
        var hello = await second.PingAsync();

        Assert.Equal(agent.Pid, hello.Pid);
        Assert.True(Processes.Exists(pid), "the command died with its connection");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(marker) && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }
        Assert.True(File.Exists(marker), "the command did not run to its end after the connection dropped");
    }

    /// <summary>Waits until the command's tree has at least <paramref name="atLeast"/> live processes and returns them.</summary>
    private static async Task<List<int>> WaitForTreeAsync(int pid, int atLeast)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var tree = ProcTree.FindTree(ProcTree.Snapshot(), pid);
            if (tree.Count >= atLeast)
            {
                return tree;
            }
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(10), $"the tree of {pid} never reached {atLeast} processes");
            await Task.Delay(10);
        }
    }

    /// <summary>Every pid is gone from /proc (killed and reaped by the agent) within a few seconds.</summary>
    private static async Task AssertGoneAsync(IReadOnlyList<int> pids)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (pids.Any(p => Directory.Exists($"/proc/{p}")) && waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(10);
        }
        Assert.DoesNotContain(pids, p => Directory.Exists($"/proc/{p}"));
    }
}
