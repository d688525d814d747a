using System.Security.Cryptography;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Artifacts;

/// <summary>Prune through the daemon: what a deleted set kept goes, what another set keeps stays, and a prune never takes a blob a command is keeping meanwhile.</summary>
[Collection(DaemonCollection.Name)]
public sealed class ArtifactPruneSandboxTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    private string BlobPath(string sha256) => Path.Join(fixture.DataDir, "artifacts", "blobs", sha256[..2], sha256);

    [Fact]
    public async Task ADeletedSetsOwnContent_IsPruned_AndContentAnotherSetKeeps_Stays()
    {
        var shared = "shared " + Guid.NewGuid().ToString("N");
        var own = "own " + Guid.NewGuid().ToString("N");
        var a = await Client.CreateSandboxAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        await using var b = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        var keptByA = await Client.ExecAsync(a.Id, new ExecRequest(Command: $"mkdir out && echo '{shared}' > out/shared.txt && echo '{own}' > out/own.txt"));
        await b.ShAsync($"mkdir out && echo '{shared}' > out/same.txt");
        var ownSha = keptByA.Artifacts!.Single(f => f.Path == "out/own.txt").Sha256!;
        var sharedSha = keptByA.Artifacts!.Single(f => f.Path == "out/shared.txt").Sha256!;

        await Client.PruneArtifactsAsync();
        var ownStayed = File.Exists(BlobPath(ownSha));
        await Client.DeleteSandboxAsync(a.Id);
        await Client.DeleteArtifactSetAsync(a.Id);
        var pruned = await Client.PruneArtifactsAsync();
        await using var still = await Client.OpenArtifactAsync(b.Id, "out/same.txt");

        Assert.True(ownStayed, "a prune deleted a blob its set still names");
        Assert.False(File.Exists(BlobPath(ownSha)));
        Assert.True(File.Exists(BlobPath(sharedSha)));
        Assert.True(pruned.Blobs >= 1 && pruned.Bytes >= own.Length + 1, $"{pruned}");
        Assert.Equal(shared + "\n", await new StreamReader(still).ReadToEndAsync());
        Assert.Equal(0, (await Client.PruneArtifactsAsync()).Blobs);
    }

    [Fact]
    public async Task PrunesRacingCommandsThatKeepTheSameBytes_NeverLoseAKeptFile()
    {
        // Each round: a deleted set leaves 150 blobs nobody names; a command in another sandbox writes
        // the same bytes (the store finds each blob there already, then names it) while prunes run back
        // to back. Every file must stay readable: a prune waits for a set's keeping and naming to end.
        const int files = 150;
        await using var keeper = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        for (var round = 0; round < 3; round++)
        {
            var tag = $"{round}-{Guid.NewGuid():N}";
            var write = $"mkdir -p out/{round} && for i in $(seq {files}); do echo \"{tag} $i\" > out/{round}/f$i.txt; done";
            var orphan = await Client.CreateSandboxAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
            Assert.Equal(files, (await Client.ExecAsync(orphan.Id, new ExecRequest(Command: write))).Artifacts!.Count);
            await Client.DeleteSandboxAsync(orphan.Id);
            await Client.DeleteArtifactSetAsync(orphan.Id);

            using var stop = new CancellationTokenSource();
            var prunes = Task.Run(async () =>
            {
                var count = 0;
                while (!stop.IsCancellationRequested)
                {
                    await Client.PruneArtifactsAsync();
                    count++;
                }
                return count;
            });
            var kept = await Client.ExecAsync(keeper.Id, new ExecRequest(Command: write));
            await stop.CancelAsync();
            var pruneCount = await prunes;

            Assert.True(kept.ExitCode == 0 && kept.Artifacts?.Count == files, $"round {round}: {kept.Artifacts?.Count} kept, stderr {kept.Stderr}");
            Assert.True(pruneCount >= 2, $"only {pruneCount} prunes ran beside the command");
            for (var i = 1; i <= files; i++)
            {
                await using var content = await Client.OpenArtifactAsync(keeper.Id, $"out/{round}/f{i}.txt");
                Assert.Equal($"{tag} {i}\n", await new StreamReader(content).ReadToEndAsync());
            }
        }
    }
}
