using System.Security.Cryptography;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Hutch.Tests.Templates;
using Xunit.Abstractions;

namespace Hutch.Tests.Artifacts;

/// <summary>A daemon that keeps one sandbox ready of the template "raced:1", whose start command runs ahead on the shelf.</summary>
public sealed class RestoreRaceFixture : DaemonFixture
{
    public const string Template = "raced:1";

    protected override HutchOptions Configure(HutchOptions options) => options with
    {
        WarmPool = 0,
        WarmPoolTemplates = new Dictionary<string, int> { [Template] = 1 },
    };
}

[CollectionDefinition(Name)]
public sealed class RestoreRaceCollection : ICollectionFixture<RestoreRaceFixture>
{
    public const string Name = "artifact restore race";
}

/// <summary>
/// A session's restore is the one artifact write into a workspace, and it runs before the create
/// answers, so no command of the new sandbox can race it; a pooled template's start command can, as
/// it ran ahead on the shelf. Here it swaps the restored paths' directories for links to the host's
/// /etc and / (the daemon, root on the host, would resolve them there) as fast as it goes.
/// </summary>
[Collection(RestoreRaceCollection.Name)]
public sealed class ArtifactRestoreRaceTests(RestoreRaceFixture fixture, ITestOutputHelper output)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task ARestoreIntoAPooledSandbox_WhoseStartCommandPlantsLinks_NeverWritesThroughThem()
    {
        var token = "restored-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        MinimalRoot.AddTemplate(fixture.Daemon.Engine, "raced", "1", new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" },
            ["/bin/sh", "-c", $"""
                cd /workspace && : > ready
                while :; do
                  rm -rf out; ln -s /etc out
                  rm -f out; mkdir out; ln -s /etc/{token}.md out/{token}.md; ln -s / out/sub
                  rm -f out/sub; mkdir out/sub; ln -s /{token}.md out/sub/{token}.md
                done
                """],
            new ProbeSpec(ProbeTypes.Command, Command: "test -f /workspace/ready", IntervalMs: 50, TimeoutMs: 20_000));
        var session = "race-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var spec = new ArtifactSpec(["out/**"], session);
        await using (var first = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: spec)))
        {
            var kept = await first.ShAsync($"mkdir -p out/sub && echo session > out/{token}.md && echo session > out/sub/{token}.md");
            Assert.Equal(2, kept.Artifacts!.Count);
        }
        // The first create of the template starts cold and fills the shelf for the next.
        await (await fixture.CreateAsync(new CreateSandboxRequest(Template: "raced"))).DisposeAsync();

        var claims = 0;
        var refusals = new List<HutchApiException>();
        for (var round = 0; round < 8; round++)
        {
            await WaitForShelfAsync();
            TestSandbox? claimed = null;
            try
            {
                claimed = await fixture.CreateAsync(new CreateSandboxRequest(Template: "raced", Artifacts: spec));
                claims++;
            }
            catch (HutchApiException e)
            {
                refusals.Add(e);
            }
            if (claimed is not null)
            {
                await claimed.DisposeAsync();
            }
        }

        output.WriteLine($"{claims} restores into a racing pooled sandbox, {refusals.Count} refused: {string.Join("; ", refusals.Select(e => $"{e.Status} {e.Code}"))}");
        Assert.All(refusals, e => Assert.InRange(e.Status, 400, 499));
        foreach (var host in new[] { $"/etc/{token}.md", $"/{token}.md", $"/etc/sub/{token}.md", $"/sub/{token}.md" })
        {
            Assert.False(File.Exists(host), $"the restore wrote the host's {host}");
        }
    }

    private async Task WaitForShelfAsync()
    {
        var pool = fixture.Daemon.Engine.WarmPool;
        for (var i = 0; i < 600 && pool.ReadyOf(RestoreRaceFixture.Template) < 1; i++)
        {
            await Task.Delay(50);
        }
        Assert.Equal(1, pool.ReadyOf(RestoreRaceFixture.Template));
    }
}
