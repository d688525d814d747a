using System.Diagnostics;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Daemon.Sandboxes;
using Hutch.Daemon.Templates;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Templates;

/// <summary>
/// A daemon that keeps one sandbox ready of each of the templates "pooled:1" (no start command),
/// "ready:1" (a start command and a probe) and "broken:1" (a start command that fails), and none of
/// the host's root. The tests import them after the daemon started.
/// </summary>
public sealed class TemplatePoolFixture : DaemonFixture
{
    public const string Template = "pooled:1";
    public const string Ready = "ready:1";
    public const string Broken = "broken:1";

    protected override HutchOptions Configure(HutchOptions options) => options with
    {
        WarmPool = 0,
        WarmPoolTemplates = new Dictionary<string, int> { [Template] = 1, [Ready] = 1, [Broken] = 1 },
    };
}

[CollectionDefinition(Name)]
public sealed class TemplatePoolCollection : ICollectionFixture<TemplatePoolFixture>
{
    public const string Name = "template pool";
}

/// <summary>The warm pool per template: a create from a pooled template version is a claim, not a runtime start.</summary>
[Collection(TemplatePoolCollection.Name)]
public sealed class TemplatePoolTests(TemplatePoolFixture fixture)
{
    private HutchClient Client => fixture.Client;
    private const string Template = TemplatePoolFixture.Template;

    private WarmPool Pool => fixture.Daemon.Engine.WarmPool;

    private async Task WaitForReadyAsync(int count, string template = TemplatePoolFixture.Template)
    {
        for (var i = 0; i < 600 && Pool.ReadyOf(template) != count; i++)
        {
            await Task.Delay(50);
        }
        Assert.Equal(count, Pool.ReadyOf(template));
    }

    [Fact]
    public async Task ATemplateImportedAfterTheStart_IsPooledFromItsFirstCreate_AndTheNextCreateClaimsIt()
    {
        // Imported after the daemon started, as an operator would: its shelf's first filler found nothing.
        MinimalRoot.AddTemplate(fixture.Daemon.Engine, "pooled", "1", new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["FROM"] = "template" });

        await using var cold = await fixture.CreateAsync(new CreateSandboxRequest(Template: "pooled"));
        await WaitForReadyAsync(1);
        var pooled = Assert.Single(fixture.Daemon.Engine.Directory.Registry.ListPooled(), r => r.Template == Template);
        await using var claimed = await fixture.CreateAsync(new CreateSandboxRequest(Template: "pooled", Env: new() { ["MINE"] = "1" }));
        var env = await claimed.ShAsync("echo $FROM $MINE; cat /etc/template-file");
        await using var asRoot = await fixture.CreateAsync(new CreateSandboxRequest(Template: "pooled", User: "root"));

        Assert.Equal(pooled.Id, claimed.Id);
        Assert.Equal("pooled:1", claimed.Info.Template);
        Assert.Equal("template 1\nfrom the template\n", env.Stdout);
        Assert.NotEqual(pooled.Id, asRoot.Id); // root's sandboxes are not the pool's shape
        await WaitForReadyAsync(1);
        var inUse = await Assert.ThrowsAsync<HutchApiException>(() => Client.DeleteTemplateAsync("pooled", "1"));
        Assert.Equal(ErrorCodes.TemplateInUse, inUse.Code);
    }

    /// <summary>The start command of "ready": each run leaves a line in /tmp/starts; it is up two seconds later.</summary>
    private static readonly string[] SlowStart = ["/bin/sh", "-c", "echo run >> /tmp/starts; sleep 2; : > /tmp/up; exec sleep 600"];
    private static readonly ProbeSpec UpProbe = new(ProbeTypes.Command, Command: "test -f /tmp/up", IntervalMs: 100, TimeoutMs: 20_000);

    [Fact]
    public async Task ATemplatesPoolShelvesSandboxesWithTheirStartCommandReady_SoACreateFromItRunsNothingAndAnswersAtOnce()
    {
        MinimalRoot.AddTemplate(fixture.Daemon.Engine, "ready", "1", new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }, SlowStart, UpProbe);
        // The first create starts cold (and waits for the start command); its claim found the shelf empty and filled it.
        await using (await fixture.CreateAsync(new CreateSandboxRequest(Template: "ready")))
        {
        }
        await WaitForReadyAsync(1, TemplatePoolFixture.Ready);
        var pooled = Assert.Single(fixture.Daemon.Engine.Directory.Registry.ListPooled(), r => r.Template == TemplatePoolFixture.Ready);

        var asked = DateTimeOffset.UtcNow;
        var took = Stopwatch.StartNew();
        await using var claimed = await fixture.CreateAsync(new CreateSandboxRequest(Template: "ready", Name: "ready-claimed"));
        var first = await claimed.ShAsync("cat /tmp/starts; test -f /tmp/up && echo up");
        took.Stop();
        var start = await Client.GetServiceAsync(claimed.Id, "start");

        Assert.Equal(pooled.Id, claimed.Id);
        Assert.Equal("run\nup\n", first.Stdout); // it ran once, on the shelf, and the claim ran it not again
        Assert.True(took.Elapsed < TimeSpan.FromSeconds(2), $"create + first exec took {took.Elapsed.TotalMilliseconds:0} ms, as long as the start command's 2 s");
        Assert.Equal(ServiceStates.Ready, start.State);
        Assert.True(start.ReadyAt < asked, $"the start command was ready at {start.ReadyAt:O}, after the create was asked for at {asked:O}");
        Assert.Equal(ServiceStates.Ready, (await Client.GetServiceAsync(claimed.Id, "start")).State);

        // A create that gives env is not the pool's: its start command runs at the create and sees it.
        await WaitForReadyAsync(1, TemplatePoolFixture.Ready);
        await using var withEnv = await fixture.CreateAsync(new CreateSandboxRequest(Template: "ready", Env: new() { ["MINE"] = "1" }));
        Assert.DoesNotContain(fixture.Daemon.Engine.Directory.Registry.ListPooled(), r => r.Id == withEnv.Id);
        Assert.Equal(1, Pool.ReadyOf(TemplatePoolFixture.Ready));
        Assert.Equal("run\n", (await withEnv.ShAsync("cat /tmp/starts")).Stdout);
    }

    [Fact]
    public async Task ATemplateWhoseStartCommandFails_NeverGetsAPooledSandboxHandedOut_AndItsFillerDoesNotSpin()
    {
        MinimalRoot.AddTemplate(fixture.Daemon.Engine, "broken", "1", new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" },
            ["/bin/sh", "-c", "echo cannot start >&2; exit 3"], UpProbe);

        var cold = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(Template: "broken")));
        // That create's claim found the shelf empty and started a filler: its sandbox fails the same way, and is deleted.
        for (var i = 0; i < 600 && Pool.FailuresOf(TemplatePoolFixture.Broken) == 0; i++)
        {
            await Task.Delay(50);
        }
        Assert.Equal(1, Pool.FailuresOf(TemplatePoolFixture.Broken));
        Assert.Equal(0, Pool.ReadyOf(TemplatePoolFixture.Broken));
        Assert.DoesNotContain(fixture.Daemon.Engine.Directory.Registry.ListPooled(), r => r.Template == TemplatePoolFixture.Broken);
        var again = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(Template: "broken")));
        await Task.Delay(500);

        Assert.Equal(ErrorCodes.TemplateStartFailed, cold.Code);
        Assert.Equal(ErrorCodes.TemplateStartFailed, again.Code);
        Assert.Contains("cannot start", again.Message, StringComparison.Ordinal);
        // At most one fill per create, after a back-off: not a loop of starts.
        Assert.InRange(Pool.FailuresOf(TemplatePoolFixture.Broken), 1, 2);
        Assert.DoesNotContain(await Client.ListSandboxesAsync(), s => s.Template == TemplatePoolFixture.Broken);
    }

    [Fact]
    public void AMalformedPoolSetting_IsRefusedWithTheEntryNamed()
    {
        var error = Assert.Throws<ArgumentException>(() => HutchOptions.ParseTemplatePools("python:3=2,debian=1"));
        Assert.Contains("'debian=1'", error.Message);
        Assert.Equal(new Dictionary<string, int> { ["python:3"] = 2, ["debian:bookworm"] = 1 }, HutchOptions.ParseTemplatePools(" python:3=2, debian:bookworm=1 "));
    }
}
