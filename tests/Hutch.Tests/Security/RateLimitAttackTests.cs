using System.Diagnostics;
using System.Text.RegularExpressions;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Hutch.Tests.Shells;

namespace Hutch.Tests.Security;

/// <summary>
/// A caller that floods the API (parallel execs, parallel creates, resize storms) is answered 429
/// with Retry-After past its budget, and the others, here another sandbox, are still served. The
/// daemon runs with low limits so that the floods are small.
/// </summary>
[Collection(LowLimitsCollection.Name)]
public partial class RateLimitAttackTests(LowLimitsDaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task ParallelExecsInOneSandbox_BeyondItsLimit_Are429WithRetryAfter_WhileAnotherSandboxIsServed()
    {
        await using var flooded = await fixture.CreateAsync();
        await using var other = await fixture.CreateAsync();

        var flood = Enumerable.Range(0, 40).Select(_ => AttemptAsync(() => Client.ExecAsync(flooded.Id, new ExecRequest(Command: "sleep 5")))).ToList();
        // Refusals answer at once, the admitted commands after 5 s.
        await WaitUntilAsync(() => Task.FromResult(flood.Count(t => t.IsCompleted) >= 40 - LowLimitsDaemonFixture.ExecsPerSandbox));
        var served = await other.ShAsync("echo served");
        var stillRunning = flood.Count(t => !t.IsCompleted);
        var refusals = (await Task.WhenAll(flood)).OfType<HutchApiException>().ToList();

        Assert.Equal("served\n", served.Stdout);
        Assert.Equal(LowLimitsDaemonFixture.ExecsPerSandbox, stillRunning);
        Assert.Equal(40 - LowLimitsDaemonFixture.ExecsPerSandbox, refusals.Count);
        AssertRateLimited(refusals, "HUTCH_MAX_EXECS_PER_SANDBOX");
        // The permits came back with the answers.
        Assert.Equal("again\n", (await flooded.ShAsync("echo again")).Stdout);
    }

    [Fact]
    public async Task ExecsOverSeveralSandboxes_BeyondTheKeysLimit_Are429()
    {
        await using var a = await fixture.CreateAsync();
        await using var b = await fixture.CreateAsync();
        await using var c = await fixture.CreateAsync();

        // Three per sandbox is within each sandbox's limit; nine is past the key's eight.
        var flood = new[] { a, b, c }.SelectMany(s => Enumerable.Range(0, LowLimitsDaemonFixture.ExecsPerSandbox)
            .Select(_ => AttemptAsync(() => Client.ExecAsync(s.Id, new ExecRequest(Command: "sleep 3"))))).ToList();
        var refusals = (await Task.WhenAll(flood)).OfType<HutchApiException>().ToList();

        Assert.Single(refusals); // 3 × 3 - 8
        AssertRateLimited(refusals, "HUTCH_MAX_EXECS_PER_KEY");
    }

    [Fact]
    public async Task StreamingExecsWhoseClientLeft_KeepTheirPlace_UntilTheCommandsEnd()
    {
        await using var sandbox = await fixture.CreateAsync();

        // Hanging up does not end a command (it runs on), so it must not free its place either:
        // otherwise start, hang up, start again would run any number of commands at once.
        await StartStreamsThenLeaveAsync(sandbox, new ExecRequest(Command: "sleep 5"));
        // Time for the daemon to see the hang-ups (it does within milliseconds) while the commands run on.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var refused = await AttemptAsync(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true")));
        Assert.Equal(ErrorCodes.RateLimited, refused?.Code);

        // Served again once the commands have ended.
        await WaitUntilAsync(async () => await AttemptAsync(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true"))) is null);
    }

    [Fact]
    public async Task StreamingExecsKilledOnDisconnect_GiveTheirPlaceBack_AsSoonAsTheyAreKilled()
    {
        await using var sandbox = await fixture.CreateAsync();

        await StartStreamsThenLeaveAsync(sandbox, new ExecRequest(Command: "sleep 60", KillOnDisconnect: true));

        var watch = Stopwatch.StartNew();
        await WaitUntilAsync(async () => await AttemptAsync(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true"))) is null);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10));
    }

    /// <summary>Fills the sandbox's places with streaming execs, checks a fourth is refused, then hangs up on all of them.</summary>
    private async Task StartStreamsThenLeaveAsync(TestSandbox sandbox, ExecRequest request)
    {
        using var gone = new CancellationTokenSource();
        var started = Enumerable.Range(0, LowLimitsDaemonFixture.ExecsPerSandbox).Select(_ => new TaskCompletionSource()).ToList();
        var streams = started.Select(start => Task.Run(async () =>
        {
            await foreach (var _ in Client.ExecStreamAsync(sandbox.Id, request, gone.Token))
            {
                start.TrySetResult(); // the first event (start): this stream holds its place
            }
        })).ToList();
        await Task.WhenAll(started.Select(s => s.Task)).WaitAsync(TimeSpan.FromSeconds(20));
        var refused = await AttemptAsync(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true")));
        Assert.Equal(ErrorCodes.RateLimited, refused?.Code);

        await gone.CancelAsync();
        await Task.WhenAll(streams.Select(async s => await Assert.ThrowsAnyAsync<OperationCanceledException>(() => s)));
    }

    [Fact]
    public async Task ParallelCreates_BeyondTheKeysLimit_Are429WithRetryAfter()
    {
        var attempts = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(async () =>
        {
            try
            {
                return (object)await Client.CreateSandboxAsync(new CreateSandboxRequest());
            }
            catch (HutchApiException e)
            {
                return e;
            }
        })));
        try
        {
            var refusals = attempts.OfType<HutchApiException>().ToList();
            Assert.NotEmpty(attempts.OfType<SandboxInfo>());
            Assert.All(refusals, e => Assert.True(e.Code is ErrorCodes.RateLimited or ErrorCodes.TooManySandboxes, $"{e.Code}: {e.Detail}"));
            AssertRateLimited(refusals.Where(e => e.Code == ErrorCodes.RateLimited).ToList(), "HUTCH_MAX_CREATES_PER_KEY");
        }
        finally
        {
            foreach (var created in attempts.OfType<SandboxInfo>())
            {
                await Client.DeleteSandboxAsync(created.Id);
            }
        }
    }

    [Fact]
    public async Task CreatesPastTheSandboxCap_Are409TooManySandboxes_UntilOneIsDeleted()
    {
        var held = new List<TestSandbox>();
        try
        {
            for (var i = (await Client.ListSandboxesAsync()).Count; i < LowLimitsDaemonFixture.Sandboxes; i++)
            {
                held.Add(await fixture.CreateAsync());
            }
            var refused = await Assert.ThrowsAsync<HutchApiException>(() => fixture.CreateAsync());
            Assert.Equal((409, ErrorCodes.TooManySandboxes), (refused.Status, refused.Code));
            Assert.Contains("HUTCH_MAX_SANDBOXES", refused.Detail);

            await held[0].DisposeAsync();
            held.RemoveAt(0);
            held.Add(await fixture.CreateAsync());
        }
        finally
        {
            foreach (var sandbox in held)
            {
                await sandbox.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task AResizeFloodOverHttp_Is429PastTheRate_AndAnotherSandboxsTerminalStillResizes()
    {
        await using var flooded = await fixture.CreateAsync();
        await using var other = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(flooded.Id);
        var otherShell = await Client.OpenShellAsync(other.Id);

        var watch = Stopwatch.StartNew();
        var attempts = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => AttemptAsync(() => Client.ResizeShellAsync(flooded.Id, shell.Id, 80 + i % 40, 24))));
        var seconds = watch.Elapsed.TotalSeconds;
        var refusals = attempts.OfType<HutchApiException>().ToList();

        var accepted = attempts.Length - refusals.Count;
        Assert.True(accepted <= LowLimitsDaemonFixture.ResizesPerSecond * (Math.Ceiling(seconds) + 1),
            $"{accepted} resizes of 400 in {seconds:F1} s were applied; the limit is {LowLimitsDaemonFixture.ResizesPerSecond} a second");
        AssertRateLimited(refusals, "HUTCH_RESIZES_PER_SECOND");
        Assert.Equal(new TerminalSize(100, 30), (await Client.ResizeShellAsync(other.Id, otherShell.Id, 100, 30)).Terminal);
        await Task.Delay(refusals[0].RetryAfter!.Value);
        Assert.Equal(new TerminalSize(90, 30), (await Client.ResizeShellAsync(flooded.Id, shell.Id, 90, 30)).Terminal);
    }

    [Fact]
    public async Task AResizeFloodOverTheSocket_IsCoalescedToTheRate_AndTheLastSizeWins()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);
        await using var terminal = await Client.AttachShellAsync(sandbox.Id, shell.Id);
        // The program in the foreground counts the SIGWINCHs it gets in 4 s (the words are split so the echo of the line does not match).
        await terminal.SendInputAsync("python3 -c 'import signal,time; n=[0]; signal.signal(signal.SIGWINCH, lambda *a: n.__setitem__(0, n[0]+1)); " +
                                      "print(\"rea\"+\"dy\", flush=True); time.sleep(4); print(\"win\"+\"ches\", n[0], \"en\"+\"d\")'\r");
        await screen.WaitForAsync("ready");

        for (var i = 0; i < 2000; i++)
        {
            await terminal.ResizeAsync(80 + i % 40, 24 + i % 10);
        }
        await terminal.ResizeAsync(77, 22);
        await screen.WaitForAsync(" end");
        var winches = int.Parse(SigwinchCount().Match(screen.Text).Groups[1].Value);
        await terminal.SendInputAsync("stty size\r");
        await screen.WaitForAsync("22 77");

        // 4 s at 5 a second, and the first one at once.
        Assert.InRange(winches, 1, LowLimitsDaemonFixture.ResizesPerSecond * 4 + 2);
        Assert.Equal(new TerminalSize(77, 22), (await Client.GetShellAsync(sandbox.Id, shell.Id)).Terminal);
    }

    private static void AssertRateLimited(IReadOnlyList<HutchApiException> refusals, string limit)
    {
        Assert.NotEmpty(refusals);
        Assert.All(refusals, e =>
        {
            Assert.Equal((429, ErrorCodes.RateLimited), (e.Status, e.Code));
            Assert.True(e.RetryAfter >= TimeSpan.FromSeconds(1), $"Retry-After was {e.RetryAfter}");
            Assert.True(e.IsTransient);
            Assert.Contains(limit, e.Detail);
        });
    }

    /// <summary>Null when the call succeeded, the exception when the daemon refused it.</summary>
    private static async Task<HutchApiException?> AttemptAsync(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (HutchApiException e)
        {
            return e;
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(50);
        }
    }

    [GeneratedRegex(@"winches (\d+) end")]
    private static partial Regex SigwinchCount();
}

/// <summary>A daemon with limits low enough that a test's flood is small.</summary>
public sealed class LowLimitsDaemonFixture : DaemonFixture
{
    public const int ExecsPerSandbox = 3;
    public const int ExecsPerKey = 8;
    public const int CreatesPerKey = 2;
    public const int Sandboxes = 5;
    public const int ResizesPerSecond = 5;

    protected override HutchOptions Configure(HutchOptions options) => options with
    {
        WarmPool = 0,
        MaxExecsPerSandbox = ExecsPerSandbox,
        MaxExecsPerKey = ExecsPerKey,
        MaxCreatesPerKey = CreatesPerKey,
        MaxSandboxes = Sandboxes,
        ResizesPerSecond = ResizesPerSecond,
    };
}

[CollectionDefinition(Name)]
public sealed class LowLimitsCollection : ICollectionFixture<LowLimitsDaemonFixture>
{
    public const string Name = "daemon with low limits";
}
