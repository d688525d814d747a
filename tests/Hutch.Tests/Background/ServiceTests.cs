using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Background;

[Collection(DaemonCollection.Name)]
public class ServiceTests(DaemonFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task FileProbe_ReachesReady_WhenTheFileAppears()
    {
        await using var sandbox = await fixture.CreateAsync();

        var created = await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("worker",
            Command: "sleep 0.3; touch /tmp/ready; exec sleep 1000", Probe: new ProbeSpec(ProbeTypes.File, Path: "/tmp/ready", IntervalMs: 50)));
        var ready = await Client.WaitServiceAsync(sandbox.Id, "worker", Wait);

        Assert.Equal(ServiceStates.Starting, created.State);
        Assert.Equal(ServiceStates.Ready, ready.State);
        Assert.True(ready.ReadyAt >= ready.StartedAt!.Value.AddMilliseconds(250));
        Assert.NotNull(ready.ProcessId);
    }

    [Fact]
    public async Task CommandProbe_ReachesReady_WhenItExitsZero()
    {
        await using var sandbox = await fixture.CreateAsync();

        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("cmd",
            Command: "sleep 0.3; echo up > /tmp/state; exec sleep 1000", Probe: new ProbeSpec(ProbeTypes.Command, Command: "grep -q up /tmp/state", IntervalMs: 50)));
        var ready = await Client.WaitServiceAsync(sandbox.Id, "cmd", Wait);

        Assert.Equal(ServiceStates.Ready, ready.State);
    }

    [Fact]
    public async Task TcpAndHttpProbes_ReachReady_AndTheServiceAnswersThroughThePortRoute()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("mkdir site && echo hello-from-service > site/index.html");

        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("web", Argv: ["python3", "-m", "http.server", "8000", "-d", "site"],
            Probe: new ProbeSpec(ProbeTypes.Http, Port: 8000, Path: "/index.html", IntervalMs: 50)));
        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("raw", Argv: ["python3", "-m", "http.server", "8001"],
            Probe: new ProbeSpec(ProbeTypes.Tcp, Port: 8001, IntervalMs: 50)));
        var web = await Client.WaitServiceAsync(sandbox.Id, "web", Wait);
        var raw = await Client.WaitServiceAsync(sandbox.Id, "raw", Wait);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(new Uri(fixture.Daemon.Url), $"/v1/sandboxes/{sandbox.Id}/ports/8000/index.html"));
        request.Headers.Authorization = new("Bearer", fixture.ApiKey);
        using var http = new HttpClient();
        using var response = await http.SendAsync(request);

        Assert.Equal(ServiceStates.Ready, web.State);
        Assert.Equal(ServiceStates.Ready, raw.State);
        Assert.Equal("hello-from-service\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HttpProbe_ThatNeverGets2xx_FailsWithReadinessTimeout_AndTheRunIsKilled()
    {
        await using var sandbox = await fixture.CreateAsync();

        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("web", Argv: ["python3", "-m", "http.server", "8002"],
            Probe: new ProbeSpec(ProbeTypes.Http, Port: 8002, Path: "/missing", IntervalMs: 50, TimeoutMs: 1500)));
        var failed = await Client.WaitServiceAsync(sandbox.Id, "web", Wait);
        var left = await sandbox.ShAsync("pgrep -c python3 || true");

        Assert.Equal(ServiceStates.Failed, failed.State);
        Assert.Equal(StopReasons.ReadinessTimeout, failed.StopReason);
        Assert.Contains("404", failed.LastProbeError);
        Assert.Equal("0\n", left.Stdout);
    }

    [Fact]
    public async Task TcpProbe_OnAPortNobodyOpens_FailsWithReadinessTimeout()
    {
        await using var sandbox = await fixture.CreateAsync();

        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("deaf", Command: "exec sleep 1000",
            Probe: new ProbeSpec(ProbeTypes.Tcp, Port: 9999, IntervalMs: 50, TimeoutMs: 700)));
        var failed = await Client.WaitServiceAsync(sandbox.Id, "deaf", Wait);

        Assert.Equal((ServiceStates.Failed, StopReasons.ReadinessTimeout), (failed.State, failed.StopReason));
        Assert.NotNull(failed.LastProbeError);
    }

    [Theory]
    [InlineData(ProbeTypes.File)]
    [InlineData(ProbeTypes.Command)]
    public async Task FileAndCommandProbes_ThatNeverPass_FailWithReadinessTimeout(string type)
    {
        await using var sandbox = await fixture.CreateAsync();
        var probe = type == ProbeTypes.File
            ? new ProbeSpec(type, Path: "/tmp/never", IntervalMs: 50, TimeoutMs: 700)
            : new ProbeSpec(type, Command: "echo not yet >&2; exit 3", IntervalMs: 50, TimeoutMs: 700);

        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("slow", Command: "exec sleep 1000", Probe: probe));
        var failed = await Client.WaitServiceAsync(sandbox.Id, "slow", Wait);

        Assert.Equal((ServiceStates.Failed, StopReasons.ReadinessTimeout), (failed.State, failed.StopReason));
        Assert.Contains(type == ProbeTypes.File ? "/tmp/never does not exist" : "exited with 3: not yet", failed.LastProbeError);
    }

    [Fact]
    public async Task AServiceThatExitsBeforeReady_FailsWithItsExitCode()
    {
        await using var sandbox = await fixture.CreateAsync();

        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("crash", Command: "echo boom >&2; exit 3",
            Probe: new ProbeSpec(ProbeTypes.File, Path: "/tmp/never", IntervalMs: 50)));
        var failed = await Client.WaitServiceAsync(sandbox.Id, "crash", Wait);
        var logs = await Client.ServiceLogsAsync(sandbox.Id, "crash");

        Assert.Equal((ServiceStates.Failed, StopReasons.ExitedBeforeReady, 3), (failed.State, failed.StopReason, failed.ExitCode));
        Assert.Equal("boom\n", logs.Stderr);
    }

    [Fact]
    public async Task OnFailure_RestartsUpToTheLimit_ThenIsFailed_NotExited()
    {
        await using var sandbox = await fixture.CreateAsync();

        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("flaky", Command: "echo run >> /tmp/runs; exit 1",
            Restart: new RestartPolicy("on-failure", MaxRestarts: 2)));
        ServiceInfo info;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        do
        {
            await Task.Delay(100);
            info = await Client.GetServiceAsync(sandbox.Id, "flaky");
        }
        while (info.State is ServiceStates.Starting or ServiceStates.Ready && DateTime.UtcNow < deadline);
        var runs = await sandbox.ShAsync("wc -l < /tmp/runs");

        Assert.Equal(ServiceStates.Failed, info.State);
        Assert.Equal((2, 1), (info.Restarts, info.ExitCode));
        Assert.Equal("3\n", runs.Stdout);
    }

    [Fact]
    public async Task AServiceWithoutAProbe_ThatExitsAtOnce_IsFailedWithItsExitCode_NeverReady()
    {
        await using var sandbox = await fixture.CreateAsync();

        var created = await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("crash", Command: "exit 3"));
        var failed = await Client.WaitServiceAsync(sandbox.Id, "crash", Wait);

        Assert.Equal(ServiceStates.Starting, created.State);
        Assert.Equal((ServiceStates.Failed, StopReasons.ExitedBeforeReady, 3), (failed.State, failed.StopReason, failed.ExitCode));
        Assert.Null(failed.ReadyAt);
    }

    [Fact]
    public async Task AServiceWithoutAProbe_IsReady_OnceItHasStayedUpASecond()
    {
        await using var sandbox = await fixture.CreateAsync();

        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("steady", Command: "exec sleep 1000"));
        var ready = await Client.WaitServiceAsync(sandbox.Id, "steady", Wait);

        Assert.Equal(ServiceStates.Ready, ready.State);
        Assert.True(ready.ReadyAt >= ready.StartedAt!.Value.AddMilliseconds(900), $"ready at {ready.ReadyAt:O}, started {ready.StartedAt:O}");
    }

    [Fact]
    public async Task AReadyServiceThatExitsNonZero_IsFailed_AndOneThatExitsZero_IsExited()
    {
        await using var sandbox = await fixture.CreateAsync();

        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("bad", Command: "sleep 1.5; exit 4"));
        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("good", Command: "sleep 1.5"));
        var bad = await EndedAsync(sandbox.Id, "bad");
        var good = await EndedAsync(sandbox.Id, "good");

        Assert.Equal((ServiceStates.Failed, StopReasons.Exited, 4), (bad.State, bad.StopReason, bad.ExitCode));
        Assert.Equal((ServiceStates.Exited, StopReasons.Exited, 0), (good.State, good.StopReason, good.ExitCode));
    }

    [Fact]
    public async Task AStartingService_CountsItsProbeAttempts()
    {
        await using var sandbox = await fixture.CreateAsync();

        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("deaf", Command: "exec sleep 1000",
            Probe: new ProbeSpec(ProbeTypes.Tcp, Port: 9998, IntervalMs: 50, TimeoutMs: 4000)));
        // Poll rather than sleep a fixed time: under load a fixed sleep plus the GET can outlast a short
        // probe deadline (CI once saw "failed" here with a 1 s deadline and a 500 ms sleep).
        ServiceInfo starting;
        do
        {
            await Task.Delay(50);
            starting = await Client.GetServiceAsync(sandbox.Id, "deaf");
        }
        while (starting.State == ServiceStates.Starting && starting.ProbeAttempts < 2);
        var failed = await Client.WaitServiceAsync(sandbox.Id, "deaf", Wait);

        Assert.Equal(ServiceStates.Starting, starting.State);
        Assert.True(starting.ProbeAttempts >= 2, $"{starting.ProbeAttempts} attempts while starting");
        Assert.True(failed.ProbeAttempts > starting.ProbeAttempts, $"{failed.ProbeAttempts} attempts in all");
    }

    private async Task<ServiceInfo> EndedAsync(string sandbox, string name)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        ServiceInfo info;
        while ((info = await Client.GetServiceAsync(sandbox, name)).State is ServiceStates.Starting or ServiceStates.Ready && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        return info;
    }

    [Fact]
    public async Task Stop_EndsWithSigterm_OrEscalatesToSigkill_AndSaysWhich()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("polite", Command: "exec sleep 1000"));
        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("stubborn", Command: "trap '' TERM; while true; do sleep 0.05; done",
            Restart: new RestartPolicy("on-failure")));
        await Task.Delay(200);

        var polite = await Client.StopServiceAsync(sandbox.Id, "polite");
        var stubborn = await Client.StopServiceAsync(sandbox.Id, "stubborn", new StopServiceRequest(GraceMs: 300));
        await Task.Delay(300);
        var stillStopped = await Client.GetServiceAsync(sandbox.Id, "stubborn");

        Assert.Equal((ServiceStates.Stopped, StopReasons.StoppedBySigterm), (polite.State, polite.StopReason));
        Assert.Equal((ServiceStates.Stopped, StopReasons.KilledBySigkill, "SIGKILL"), (stubborn.State, stubborn.StopReason, stubborn.Signal));
        Assert.Equal(ServiceStates.Stopped, stillStopped.State); // a stop is not a failure: no restart
    }

    [Fact]
    public async Task StartingANameThatRuns_Is409_AndAStoppedNameCanStartAgain()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("one", Command: "exec sleep 1000"));

        var conflict = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("one", Command: "true")));
        await Client.StopServiceAsync(sandbox.Id, "one");
        var again = await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("one", Command: "exec sleep 1000"));

        Assert.Equal((ErrorCodes.ServiceRunning, 409), (conflict.Code, conflict.Status));
        Assert.Equal(ServiceStates.Starting, again.State);
    }

    [Fact]
    public async Task BadServiceInput_GetsClearCodes()
    {
        await using var sandbox = await fixture.CreateAsync();

        async Task<string> Refused(CreateServiceRequest r) => (await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateServiceAsync(sandbox.Id, r))).Code;

        Assert.Equal(ErrorCodes.InvalidProbe, await Refused(new("a", Command: "true", Probe: new ProbeSpec("smoke"))));
        Assert.Equal(ErrorCodes.InvalidProbe, await Refused(new("a", Command: "true", Probe: new ProbeSpec(ProbeTypes.Tcp))));
        Assert.Equal(ErrorCodes.InvalidProbe, await Refused(new("a", Command: "true", Probe: new ProbeSpec(ProbeTypes.Http, Port: 80, Path: "no-slash"))));
        Assert.Equal(ErrorCodes.InvalidProbe, await Refused(new("a", Command: "true", Probe: new ProbeSpec(ProbeTypes.File, Path: "/x", IntervalMs: 1))));
        Assert.Equal(ErrorCodes.InvalidRestartPolicy, await Refused(new("a", Command: "true", Restart: new RestartPolicy("always"))));
        Assert.Equal(ErrorCodes.InvalidName, await Refused(new("Bad Name", Command: "true")));
        Assert.Equal(ErrorCodes.EmptyCommand, await Refused(new("a")));
        Assert.Equal(ErrorCodes.CommandNotFound, await Refused(new("a", Argv: ["no-such-server"])));
        var missing = await Assert.ThrowsAsync<HutchApiException>(() => Client.GetServiceAsync(sandbox.Id, "nope"));
        Assert.Equal((ErrorCodes.ServiceNotFound, 404), (missing.Code, missing.Status));
        Assert.Empty(await Client.ListServicesAsync(sandbox.Id));
    }
}
