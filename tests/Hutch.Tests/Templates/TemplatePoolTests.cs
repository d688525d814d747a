using System.Security.Cryptography;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Daemon.Templates;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Templates;

/// <summary>A daemon that keeps one sandbox of the template "pooled:1" ready, and none of the host's root.</summary>
public sealed class TemplatePoolFixture : DaemonFixture
{
    public const string Template = "pooled:1";

    protected override HutchOptions Configure(HutchOptions options) => options with
    {
        WarmPool = 0,
        WarmPoolTemplates = new Dictionary<string, int> { [Template] = 1 },
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

    private async Task WaitForReadyAsync(int count)
    {
        for (var i = 0; i < 200 && fixture.Daemon.Engine.WarmPoolReady != count; i++)
        {
            await Task.Delay(50);
        }
        Assert.Equal(count, fixture.Daemon.Engine.WarmPoolReady);
    }

    [Fact]
    public async Task ATemplateImportedAfterTheStart_IsPooledFromItsFirstCreate_AndTheNextCreateClaimsIt()
    {
        // Imported after the daemon started, as an operator would: its shelf's first filler found nothing.
        MinimalRoot.AddTemplate(fixture.Daemon.Engine, "pooled", "1", new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["FROM"] = "template" });

        await using var cold = await fixture.CreateAsync(new CreateSandboxRequest(Template: "pooled"));
        await WaitForReadyAsync(1);
        var pooled = Assert.Single(fixture.Daemon.Engine.Directory.Registry.ListPooled());
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

    [Fact]
    public void AMalformedPoolSetting_IsRefusedWithTheEntryNamed()
    {
        var error = Assert.Throws<ArgumentException>(() => HutchOptions.ParseTemplatePools("python:3=2,debian=1"));
        Assert.Contains("'debian=1'", error.Message);
        Assert.Equal(new Dictionary<string, int> { ["python:3"] = 2, ["debian:bookworm"] = 1 }, HutchOptions.ParseTemplatePools(" python:3=2, debian:bookworm=1 "));
    }
}
