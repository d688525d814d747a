using System.Formats.Tar;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Templates;

/// <summary>Templates made through the API from image archives, and sandboxes made from them.</summary>
[Collection(DaemonCollection.Name)]
public sealed class TemplateImportTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    private static string NewName() => "i" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The first layer: <see cref="MinimalRoot"/> as a tar; the second deletes a file with a whiteout and adds one.</summary>
    private static byte[] TwoLayerArchive()
    {
        var top = ImageBuilder.Tar([("etc/.wh.template-file", []), ("etc/added", "from layer two\n"u8.ToArray())], ["etc/"]);
        return ImageBuilder.DockerArchive([MinimalRoot.Tar(), top]);
    }

    [Fact]
    public async Task AnImportedImage_IsATemplate_WhoseSandboxesSeeItsLayersAndEnv()
    {
        var name = NewName();
        var archive = TwoLayerArchive();

        var imported = await Client.ImportTemplateAsync(new MemoryStream(archive), name);
        var again = await Client.ImportTemplateAsync(new MemoryStream(archive), name, "1");
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: name));
        var result = await sandbox.ShAsync("cat /etc/added; ls /etc/template-file 2>&1; echo X=$X");

        Assert.Equal((name, "1", 2, "image-archive"), (imported.Name, imported.Version, imported.Layers, imported.Source));
        Assert.Equal(imported.Digest, again.Digest);
        Assert.Equal(("/app", "1000:1000"), (imported.WorkingDir, imported.User));
        Assert.Equal(["/bin/sh", "-c", "echo hi"], imported.Cmd!);
        Assert.StartsWith("from layer two\n", result.Stdout);
        Assert.Contains("No such file", result.Stdout);
        Assert.EndsWith("X=1\n", result.Stdout);
    }

    [Fact]
    public async Task AnArchiveWithALayerThatClimbsOut_IsRefusedWithItsCode_AndMakesNoTemplate()
    {
        var name = NewName();
        var hostile = ImageBuilder.DockerArchive([ImageBuilder.Tar([("../../escaped", "x"u8.ToArray())])]);
        var layersBefore = fixture.Daemon.Engine.Layers.List();

        var refused = await Assert.ThrowsAsync<HutchApiException>(() => Client.ImportTemplateAsync(new MemoryStream(hostile), name));
        var garbage = await Assert.ThrowsAsync<HutchApiException>(() => Client.ImportTemplateAsync(new MemoryStream("not a tar at all"u8.ToArray()), name));
        var noName = await Assert.ThrowsAsync<HutchApiException>(() => Client.ImportTemplateAsync(new MemoryStream(hostile), "Bad/Name"));

        Assert.Equal((400, "layer_invalid_path"), (refused.Status, refused.Code));
        Assert.Equal(400, garbage.Status);
        Assert.Equal(ErrorCodes.InvalidTemplate, noName.Code);
        Assert.DoesNotContain(await Client.ListTemplatesAsync(), t => t.Name == name);
        Assert.Equal(layersBefore, fixture.Daemon.Engine.Layers.List());
        Assert.False(File.Exists(Path.Join(fixture.DataDir, "escaped")));
    }
}
