using Hutch.Protocol.Api;
using Microsoft.Data.Sqlite;

namespace Hutch.Tests.Artifacts;

/// <summary>
/// The registry commits without an fsync of its own, so a power cut can take back its last artifact
/// rows while the store's fsync'd manifest kept them. Played here by deleting the rows while no
/// daemon runs: the next daemon takes the manifest's entries back instead of writing them out of it.
/// </summary>
public sealed class ArtifactRegistryBehindTests
{
    [Fact]
    public async Task RowsTheRegistryLost_AreTakenBackFromTheSignedManifest_NotDroppedFromIt()
    {
        await using var daemon = await KillableDaemon.StartAsync("hutch-ab", new Dictionary<string, string>());
        var sandbox = await daemon.Client.CreateSandboxAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        var result = await daemon.Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "mkdir -p out && echo one > out/a.txt && echo two > out/b.txt"));

        daemon.Kill();
        using (var db = new SqliteConnection($"Data Source={Path.Join(daemon.DataDir, "registry.db")};Pooling=False"))
        {
            db.Open();
            using var delete = db.CreateCommand();
            delete.CommandText = "DELETE FROM artifact_files WHERE path = 'out/b.txt'";
            Assert.Equal(1, delete.ExecuteNonQuery());
        }
        await daemon.RestartAsync();
        var listed = await daemon.Client.ListArtifactsAsync(sandbox.Id);
        var next = await daemon.Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true"));
        using var content = new StreamReader(await daemon.Client.OpenArtifactAsync(sandbox.Id, "out/b.txt"));

        Assert.Equal(["out/a.txt", "out/b.txt"], result.Artifacts!.Select(a => a.Path).Order());
        Assert.Equal(result.Artifacts!.Select(a => (a.Path, a.Sha256, a.State)).Order(), listed.Artifacts.Select(a => (a.Path, a.Sha256, a.State)).Order());
        Assert.Equal("two\n", await content.ReadToEndAsync());
        // Taken back with no workspace stat: looked at again, the same content, kept as it was.
        Assert.Equal(["out/b.txt"], next.Artifacts!.Select(a => a.Path));
        Assert.Equal(result.Artifacts!.Single(a => a.Path == "out/b.txt").Sha256, next.Artifacts![0].Sha256);
    }
}
