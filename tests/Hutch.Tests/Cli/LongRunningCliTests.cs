using System.Text;
using System.Text.Json;
using Hutch.Client;
using Hutch.Cli.Commands;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>`hutch proc`, `hutch session` and `hutch service` as a user runs them, against a real daemon.</summary>
[Collection(DaemonCollection.Name)]
public sealed class LongRunningCliTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task ProcStart_ThenLogsFollow_PrintsBothStreams_AndExitsWithTheProcessStatus()
    {
        await using var sandbox = await fixture.CreateAsync();

        var start = await HutchAsync("proc", "start", sandbox.Id, "-n", "job", "-c", "echo out; echo err >&2; sleep 0.3; exit 4");
        var logs = await HutchAsync("proc", "logs", "-f", sandbox.Id, "job");
        var list = await HutchAsync("proc", "ls", sandbox.Id, "--json");

        Assert.Equal(0, start.Code);
        Assert.StartsWith("p-", Text(start.Stdout));
        Assert.Equal((4, "out\n", "err\n"), (logs.Code, Text(logs.Stdout), logs.Stderr));
        var processes = JsonSerializer.Deserialize(list.Stdout, ApiJsonContext.Default.ProcessList)!.Processes;
        Assert.Equal((ProcessStates.Exited, 4), (processes.Single().State, processes.Single().ExitCode));
    }

    [Fact]
    public async Task SessionExec_KeepsState_AndExitsWithTheCommandStatus()
    {
        await using var sandbox = await fixture.CreateAsync();

        await HutchAsync("session", "create", sandbox.Id, "dev");
        await HutchAsync("session", "exec", sandbox.Id, "dev", "--", "cd /tmp && export X=kept");
        var run = await HutchAsync("session", "exec", sandbox.Id, "dev", "--", "echo $X $(pwd); exit 3");

        Assert.Equal((3, "kept /tmp\n"), (run.Code, Text(run.Stdout)));
    }

    [Fact]
    public async Task ServiceStart_WithWait_ReportsReady_AndStopSaysWhy()
    {
        await using var sandbox = await fixture.CreateAsync();

        var start = await HutchAsync("service", "start", sandbox.Id, "web", "--probe", "tcp:8040", "--wait", "--", "python3", "-m", "http.server", "8040");
        var stop = await HutchAsync("service", "stop", sandbox.Id, "web");

        Assert.Equal(0, start.Code);
        Assert.StartsWith("web ready", Text(start.Stdout));
        Assert.StartsWith("web stopped (stopped_by_sigterm)", Text(stop.Stdout));
    }

    [Fact]
    public async Task ServiceStart_WithWait_OfACommandThatExits3_SaysFailedWithTheExitCode_AndExits1()
    {
        await using var sandbox = await fixture.CreateAsync();

        var start = await HutchAsync("service", "start", sandbox.Id, "crash", "--wait", "--", "sh", "-c", "exit 3");
        var restarted = await HutchAsync("service", "start", sandbox.Id, "flaky", "--restart", "on-failure:1", "--wait", "--", "sh", "-c", "exit 3");
        var status = await HutchAsync("service", "status", sandbox.Id, "flaky");
        var list = await HutchAsync("service", "ls", sandbox.Id);

        Assert.Equal(1, start.Code);
        Assert.StartsWith("crash failed (exited_before_ready)", Text(start.Stdout));
        Assert.Contains("exit code 3", Text(start.Stdout));
        Assert.Equal(1, restarted.Code);
        Assert.StartsWith("flaky failed", Text(restarted.Stdout));
        Assert.Contains("exit code 3 after 1 restart", Text(restarted.Stdout));
        Assert.Equal((1, Text(restarted.Stdout)), (status.Code, Text(status.Stdout)));
        Assert.Matches(@"(?m)^flaky\s+failed\s+exited_before_ready\s+3\s+1\s", Text(list.Stdout));
    }

    [Fact]
    public async Task ServiceStart_WithWait_ShowsProbeProgressOnStderr()
    {
        await using var sandbox = await fixture.CreateAsync();

        var start = await HutchAsync("service", "start", sandbox.Id, "late", "--probe", "tcp:8042", "--wait", "--", "sh", "-c", "sleep 2.5; exec python3 -m http.server 8042");

        Assert.Equal(0, start.Code);
        Assert.StartsWith("late ready", Text(start.Stdout));
        Assert.Matches(@"late: starting for \d+\.\d s, \d+ probe attempts?, last probe: ", start.Stderr);
    }

    [Fact]
    public async Task TheServicesDocsExample_RunsAsWritten()
    {
        await using var sandbox = await fixture.CreateAsync();
        var docs = await File.ReadAllTextAsync(Path.Join(TestPaths.RepoRoot, "docs", "services.md"));
        var block = docs[(docs.IndexOf("```sh\n", StringComparison.Ordinal) + 6)..];
        var lines = block[..block.IndexOf("```", StringComparison.Ordinal)].Split('\n')
            .Select(l => l.Split('#')[0].Trim()).Where(l => l.StartsWith("hutch ", StringComparison.Ordinal)).ToList();

        Assert.True(lines.Count >= 3, string.Join('\n', lines));
        foreach (var line in lines)
        {
            var args = line.Replace("sb-…", sandbox.Id, StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..];
            var run = await HutchAsync(args);
            Assert.True(run.Code == 0, $"`{line}` exited {run.Code}: {Text(run.Stdout)}{run.Stderr}");
        }
    }

    [Fact]
    public async Task ProcWait_WithATimeout_StopsWaitingWith124_AndLeavesTheProcessRunning()
    {
        await using var sandbox = await fixture.CreateAsync();
        await HutchAsync("proc", "start", sandbox.Id, "-n", "sleeper", "--", "sleep", "30");

        var wait = await HutchAsync("proc", "wait", sandbox.Id, "sleeper", "--timeout", "0.5");
        var after = await Client.GetProcessAsync(sandbox.Id, "sleeper");
        var help = await HutchAsync("proc", "wait", "--help");

        Assert.Equal(124, wait.Code);
        Assert.Equal(ProcessStates.Running, after.State);
        var said = System.Text.RegularExpressions.Regex.Replace(Text(help.Stdout), @"\s+", " ");
        Assert.Contains("the process keeps running", said);
        Assert.DoesNotContain("Kill", said);
    }

    [Theory]
    [InlineData("tcp:8000", ProbeTypes.Tcp, 8000, null, null)]
    [InlineData("http:8080", ProbeTypes.Http, 8080, "/", null)]
    [InlineData("http:8080/health?x=1", ProbeTypes.Http, 8080, "/health?x=1", null)]
    [InlineData("file:/tmp/ready", ProbeTypes.File, null, "/tmp/ready", null)]
    [InlineData("cmd:curl -sf localhost:3000", ProbeTypes.Command, null, null, "curl -sf localhost:3000")]
    public void ProbeOption_IsParsed(string text, string type, int? port, string? path, string? command)
    {
        var probe = ServiceCommand.ParseProbe(text, 2.5)!;

        Assert.Equal((type, port, path, command, 2500L), (probe.Type, probe.Port, probe.Path, probe.Command, probe.TimeoutMs!.Value));
    }

    [Theory]
    [InlineData("tcp:")]
    [InlineData("tcp:http")]
    [InlineData("smoke:1")]
    [InlineData("file:")]
    public void ABadProbeOption_IsRefused(string text) =>
        Assert.Equal("invalid_probe", Assert.Throws<Hutch.Cli.CliException>(() => ServiceCommand.ParseProbe(text, null)).Code);

    private Task<(int Code, byte[] Stdout, string Stderr)> HutchAsync(params string[] args) =>
        CliProcess.RunAsync(fixture, Path.GetTempPath(), null, args);

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
