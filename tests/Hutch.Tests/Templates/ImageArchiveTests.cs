using System.Text.Json.Nodes;
using Hutch.Runtime.Templates;

namespace Hutch.Tests.Templates;

/// <summary>Importing oci-layout and docker-archive tars: layers in order, the config, digests checked, one image chosen.</summary>
[Trait("Category", "Unit")]
public sealed class ImageArchiveTests : IDisposable
{
    private readonly LayerSandbox _box = new();

    public void Dispose() => _box.Dispose();

    private static readonly byte[] Base = new LayerTar()
        .Directory("etc/").File("etc/motd", "welcome").File("etc/hostname", "base")
        .Directory("var/lib/").File("var/lib/old", "old")
        .Build();

    private static readonly byte[] Top = new LayerTar()
        .Directory("etc/").Whiteout("etc", "motd")
        .Directory("var/lib/").Opaque("var/lib").File("var/lib/new", "new")
        .Directory("app/").File("app/main.sh", "echo hi", mode: LayerTar.Mode755)
        .Build();

    private Task<ImportedImage> ImportAsync(byte[] archive, string? reference = null, ImageLimits? limits = null) =>
        ImageArchive.ImportAsync(new MemoryStream(archive), _box.Store, limits, reference);

    [Fact]
    public async Task AnOciLayout_IsImported_LayersBottomFirst_WithItsConfig()
    {
        var archive = ImageBuilder.OciLayout(ImageBuilder.Image([Base, Top]));

        var image = await ImportAsync(archive);

        Assert.Equal([LayerTar.DiffId(Base), LayerTar.DiffId(Top)], image.Layers);
        Assert.Equal(["PATH=/usr/bin:/bin", "X=1"], image.Config.Env);
        Assert.Equal("/app", image.Config.WorkingDir);
        Assert.Equal("1000:1000", image.Config.User);
        Assert.Equal(["/bin/sh", "-c"], image.Config.Entrypoint!);
        Assert.Equal(["echo hi"], image.Config.Cmd!);
        Assert.Empty(image.Warnings);
        Assert.Equal("base", File.ReadAllText(_box.In(image.Layers[0], "etc/hostname")));
        Assert.Equal(0x2000, LayerSandbox.Stat(_box.In(image.Layers[1], "etc/motd")).Type);
        Assert.Equal("y", LayerSandbox.Xattrs(_box.In(image.Layers[1], "var/lib"))["trusted.overlay.opaque"]);
        AssertOnlyLayers(image.Layers);
    }

    [Fact]
    public async Task ADockerArchive_IsImported_ALayerListedTwiceIncluded()
    {
        var archive = ImageBuilder.DockerArchive([Base, Top, Base]);

        var image = await ImportAsync(archive);

        Assert.Equal([LayerTar.DiffId(Base), LayerTar.DiffId(Top), LayerTar.DiffId(Base)], image.Layers);
        Assert.Equal("/app", image.Config.WorkingDir);
        Assert.Equal("echo hi", File.ReadAllText(_box.In(image.Layers[1], "app/main.sh")));
        AssertOnlyLayers(image.Layers);
    }

    [Fact]
    public async Task AGzippedArchive_IsImportedLikeAPlainOne()
    {
        var archive = LayerTar.Gzip(ImageBuilder.DockerArchive([Base]));

        var image = await ImportAsync(archive);

        Assert.Equal([LayerTar.DiffId(Base)], image.Layers);
    }

    [Fact]
    public async Task AnImage_WhoseLayersAreStored_IsCheckedAgainstThem_NotExtractedAgain()
    {
        var first = await ImportAsync(ImageBuilder.DockerArchive([Base]));
        var inode = LayerSandbox.Stat(_box.In(first.Layers[0], "etc/hostname")).Inode;

        var second = await ImportAsync(ImageBuilder.OciLayout(ImageBuilder.Image([Base, Top])));

        Assert.Equal(first.Layers[0], second.Layers[0]);
        Assert.Equal(inode, LayerSandbox.Stat(_box.In(first.Layers[0], "etc/hostname")).Inode);
    }

    [Fact]
    public async Task ALayerBlob_ThatIsNotWhatItsDigestSays_IsRefused_AndNothingIsStored()
    {
        // The blob is changed after its digest was written in the manifest: a tampered or damaged archive.
        var other = LayerTar.Gzip(new LayerTar().File("etc/shadow", "root::0:0").Build());
        var archive = ImageBuilder.OciLayout(ImageBuilder.Image([Base], tamperLayer: _ => other));

        var e = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive));

        Assert.Equal(TemplateErrorCodes.LayerDigestMismatch, e.Code);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Fact]
    public async Task ALayer_WhoseTarIsNotTheConfigsDiffId_IsRefused_AndNothingIsStored()
    {
        var config = ImageBuilder.Config([Top]);     // the diff_id of another layer than the one shipped
        var archive = ImageBuilder.OciLayout(ImageBuilder.Image([Base], config));

        var e = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive));

        Assert.Equal(TemplateErrorCodes.LayerDigestMismatch, e.Code);
        Assert.Contains("layer 1 of 1", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Fact]
    public async Task ADockerArchiveLayer_ThatIsNotTheConfigsDiffId_IsRefused()
    {
        var archive = ImageBuilder.DockerArchive([Base], config: ImageBuilder.Config([Top]));

        var e = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive));

        Assert.Equal(TemplateErrorCodes.LayerDigestMismatch, e.Code);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Fact]
    public async Task AStoredLayer_ThatTheArchivesBlobDoesNotMatch_IsRefusedToo()
    {
        await ImportAsync(ImageBuilder.DockerArchive([Base]));
        var archive = ImageBuilder.DockerArchive([Top], config: ImageBuilder.Config([Base]));

        var e = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive));

        Assert.Equal(TemplateErrorCodes.LayerDigestMismatch, e.Code);
    }

    [Fact]
    public async Task AnIndexOfSeveralPlatforms_GivesTheImageForLinuxOnThisHostsArchitecture()
    {
        var foreign = ImageBuilder.HostArchitecture == "amd64" ? "arm64" : "amd64";
        var archive = ImageBuilder.OciLayout(
            ImageBuilder.Image([Top], ImageBuilder.Config([Top], architecture: foreign), platform: new JsonObject { ["os"] = "linux", ["architecture"] = foreign }),
            ImageBuilder.Image([Base], platform: new JsonObject { ["os"] = "linux", ["architecture"] = ImageBuilder.HostArchitecture }));

        var image = await ImportAsync(archive);

        Assert.Equal([LayerTar.DiffId(Base)], image.Layers);
    }

    [Fact]
    public async Task AnArchiveOfSeveralImages_GivesTheOneNamed_AndRefusesToGuess()
    {
        var archive = ImageBuilder.OciLayout(ImageBuilder.Image([Base], refName: "base"), ImageBuilder.Image([Top], refName: "top"));

        var named = await ImportAsync(archive, reference: "top");
        var guess = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive));
        var unknown = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive, reference: "nope"));

        Assert.Equal([LayerTar.DiffId(Top)], named.Layers);
        Assert.Equal(TemplateErrorCodes.ImageUnsupported, guess.Code);
        Assert.Contains("name the one to import", guess.Message);
        Assert.Equal(TemplateErrorCodes.ImageUnsupported, unknown.Code);
    }

    [Fact]
    public async Task ADockerArchive_GivesTheImageNamedByItsRepoTag()
    {
        var image = await ImportAsync(ImageBuilder.DockerArchive([Base], repoTags: ["docker.io/library/base:1"]), reference: "base:1");

        Assert.Equal([LayerTar.DiffId(Base)], image.Layers);
    }

    [Fact]
    public async Task AWindowsImage_IsRefusedAsUnsupported()
    {
        var archive = ImageBuilder.OciLayout(ImageBuilder.Image([Base], ImageBuilder.Config([Base], os: "windows")));

        var e = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive));

        Assert.Equal(TemplateErrorCodes.ImageUnsupported, e.Code);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Fact]
    public async Task AnImageOfMoreLayersThanTheLimit_IsRefusedAsTooLarge()
    {
        var archive = ImageBuilder.OciLayout(ImageBuilder.Image([Base, Top]));

        var e = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive, limits: new ImageLimits(MaxLayers: 1)));

        Assert.Equal(TemplateErrorCodes.ImageTooLarge, e.Code);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Fact]
    public async Task AnArchivePastItsByteLimit_IsRefusedAsTooLarge()
    {
        var archive = ImageBuilder.OciLayout(ImageBuilder.Image([new LayerTar().File("big", System.Security.Cryptography.RandomNumberGenerator.GetBytes(200_000)).Build()]));

        var e = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive, limits: new ImageLimits(MaxArchiveBytes: 100_000)));

        Assert.Equal(TemplateErrorCodes.ImageTooLarge, e.Code);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Theory]
    [InlineData("not a tar")]
    [InlineData("no index")]
    [InlineData("a missing blob")]
    [InlineData("broken json")]
    [InlineData("a config without rootfs")]
    public async Task WhatIsNotAnImageArchive_IsRefusedAsInvalid_AndLeavesNoSpool(string kind)
    {
        var image = ImageBuilder.Image([Base]);
        var archive = kind switch
        {
            "not a tar" => System.Text.Encoding.UTF8.GetBytes(new string('x', 4096)),
            "no index" => ImageBuilder.Tar([("README", "hello"u8.ToArray())]),
            "a missing blob" => ImageBuilder.OciLayout(image with { Blobs = image.Blobs.Skip(1).ToList() }),
            "broken json" => ImageBuilder.Tar([("index.json", "{\"manifests\": ["u8.ToArray()), ("oci-layout", "{}"u8.ToArray())]),
            _ => ImageBuilder.OciLayout(ImageBuilder.Image([Base], new JsonObject { ["os"] = "linux" })),
        };

        var e = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive));

        Assert.Equal(TemplateErrorCodes.ImageInvalid, e.Code);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
    }

    [Fact]
    public async Task AManifestWithAnotherDigestAlgorithm_IsRefusedAsUnsupported()
    {
        var image = ImageBuilder.Image([Base]);
        image.Descriptor["digest"] = "sha512:" + new string('0', 128);
        var archive = ImageBuilder.OciLayout(image);

        var e = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive));

        Assert.Equal(TemplateErrorCodes.ImageUnsupported, e.Code);
    }

    [Fact]
    public async Task ALayerWithAnAttack_FailsTheImport_NamingTheLayer()
    {
        var evil = new LayerTar().Symlink("x", "/etc").File("x/pwned", "x").Build();
        var archive = ImageBuilder.OciLayout(ImageBuilder.Image([evil]));

        var e = await Assert.ThrowsAsync<TemplateException>(() => ImportAsync(archive));

        Assert.Equal(TemplateErrorCodes.LayerThroughLink, e.Code);
        Assert.StartsWith("layer 1 of 1", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_box.Store.Root));
        Assert.False(File.Exists("/etc/pwned"));
    }

    /// <summary>The store holds these layers and nothing else: no spool, no temporary.</summary>
    private void AssertOnlyLayers(IEnumerable<string> layers) => Assert.Equal(
        layers.Distinct().Select(digest => "sha256-" + digest[7..]).Order(StringComparer.Ordinal),
        Directory.GetFileSystemEntries(_box.Store.Root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
}
