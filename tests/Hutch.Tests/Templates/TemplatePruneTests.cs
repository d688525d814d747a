using System.Formats.Tar;
using System.Security.Cryptography;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Runtime.Templates;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Templates;

/// <summary>A daemon of its own (no warm pool): a prune removes every unused layer of its store.</summary>
public sealed class TemplatePruneFixture : DaemonFixture
{
    protected override HutchOptions Configure(HutchOptions options) => options with { WarmPool = 0 };
}

[CollectionDefinition(Name)]
public sealed class TemplatePruneCollection : ICollectionFixture<TemplatePruneFixture>
{
    public const string Name = "template prune";
}

/// <summary>Removing layers no template uses: by prune, and with a deleted version; never one in use or being imported.</summary>
[Collection(TemplatePruneCollection.Name)]
public sealed class TemplatePruneTests(TemplatePruneFixture fixture)
{
    private HutchClient Client => fixture.Client;
    private SandboxEngine Engine => fixture.Daemon.Engine;

    /// <summary>A root file system's tar of one file with random content: a layer no other test has.</summary>
    private static byte[] UniqueRootfs(int bytes = 4096)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "data.bin") { DataStream = new MemoryStream(RandomNumberGenerator.GetBytes(bytes)) });
        }
        return tar.ToArray();
    }

    private static string Name() => "p" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task Prune_RemovesAnOrphanedLayerAndItsBytes_AndKeepsATemplatesLayer()
    {
        var orphan = await Engine.Layers.AddAsync(new MemoryStream(UniqueRootfs(100_000)), LayerLimits.Default);
        var kept = await Client.ImportTemplateAsync(new MemoryStream(UniqueRootfs()), Name(), "1", rootfs: true);
        var keptLayer = Engine.Templates.Get(kept.Name, "1").Manifest.Layers.Single();

        var result = await Client.PruneTemplatesAsync();

        Assert.Contains(orphan.Digest, result.RemovedLayers);
        Assert.Equal(result.RemovedLayers.Length, result.Layers);
        Assert.True(result.Bytes >= 100_000, $"{result.Bytes} bytes removed, less than the orphan's 100000");
        Assert.False(Engine.Layers.Has(orphan.Digest));
        Assert.False(Directory.Exists(Engine.Layers.PathOf(orphan.Digest)));
        Assert.True(Engine.Layers.Has(keptLayer));
        Assert.Empty((await Client.PruneTemplatesAsync()).RemovedLayers); // nothing left to remove
    }

    [Fact]
    public async Task ALayerSharedByTwoTemplates_SurvivesDeletingOne_AndGoesWithTheLast()
    {
        var rootfs = UniqueRootfs();
        var first = await Client.ImportTemplateAsync(new MemoryStream(rootfs), Name(), "1", rootfs: true);
        var second = await Client.ImportTemplateAsync(new MemoryStream(rootfs), Name(), "1", rootfs: true);
        var layer = Engine.Templates.Get(first.Name, "1").Manifest.Layers.Single();
        Assert.Equal(layer, Engine.Templates.Get(second.Name, "1").Manifest.Layers.Single());

        await Client.DeleteTemplateAsync(first.Name);
        var afterFirst = Engine.Layers.Has(layer);
        await Client.DeleteTemplateAsync(second.Name);

        Assert.True(afterFirst);
        Assert.False(Engine.Layers.Has(layer)); // deleting the last version that named it removed it
    }

    [Fact]
    public async Task ARunningSandboxsTemplateLayers_SurvivePruneAndItsTemplateCannotBeDeleted()
    {
        var name = Name();
        var template = MinimalRoot.AddTemplate(Engine, name, "1", new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" });
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: name));

        var result = await Client.PruneTemplatesAsync(TimeSpan.Zero);
        var refused = await Assert.ThrowsAsync<HutchApiException>(() => Client.DeleteTemplateAsync(name));
        var read = await sandbox.ShAsync("cat /etc/template-file");

        Assert.DoesNotContain(template.Manifest.Layers.Single(), result.RemovedLayers);
        Assert.True(Engine.Layers.Has(template.Manifest.Layers.Single()));
        Assert.Equal(ErrorCodes.TemplateInUse, refused.Code);
        Assert.Equal("from the template\n", read.Stdout);
    }

    [Fact]
    public async Task ImportsRacingPrunes_NeverLoseALayer()
    {
        // Prunes back to back while imports run: each import's layer is stored (renamed into place)
        // some milliseconds before its version is recorded, the window a prune must not take it in.
        using var stop = new CancellationTokenSource();
        var prunes = 0;
        var pruner = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                Engine.TemplatePruning.Prune(null);
                Interlocked.Increment(ref prunes);
            }
        });
        var lost = new List<string>();
        var imports = 0;
        try
        {
            // The pruner must be running before the first import, and imports go on until it has run
            // many times among them: a loaded host may start the thread late or run it rarely.
            while (Volatile.Read(ref prunes) == 0)
            {
                await Task.Delay(1);
            }
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            for (; (imports < 40 || Volatile.Read(ref prunes) < 40) && DateTime.UtcNow < deadline; imports++)
            {
                var imported = await Engine.TemplateImports.ImportRootfsAsync(new MemoryStream(UniqueRootfs()), Name(), "1", CancellationToken.None);
                var layer = imported.Manifest.Layers.Single();
                if (!Engine.Layers.Has(layer))
                {
                    lost.Add(layer);
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await pruner;
        }

        Assert.Empty(lost);
        Assert.True(prunes >= 40 && imports >= 40, $"only {prunes} prunes ran alongside {imports} imports in two minutes");
    }

    [Fact]
    public async Task ABadAge_IsRefusedWithItsCode()
    {
        using var http = fixture.RawHttp();
        var response = await http.PostAsync("/v1/templates/prune?cacheOlderThanSeconds=-5", null);
        var problem = await DaemonFixture.ProblemOf(response);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ErrorCodes.InvalidQuery, problem.Code);
    }
}
