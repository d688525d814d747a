using System.Security.Cryptography;
using Hutch.Artifacts;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Tests.Artifacts;

/// <summary>Both stores' prune: blobs no one names are deleted, named ones stay (local: also a blob a set's files/ still links).</summary>
public sealed class ArtifactStorePruneTests(S3Server server) : IClassFixture<S3Server>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hutch-prune-").FullName;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private SafeFileHandle Source(byte[] bytes)
    {
        var path = Path.Join(_dir, Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, bytes);
        return File.OpenHandle(path);
    }

    private async Task<BlobRef> PutAsync(IArtifactStore store, byte[] bytes)
    {
        using var source = Source(bytes);
        return await store.PutAsync(source, default);
    }

    [Fact]
    public async Task Local_DeletesOnlyUnnamedBlobs_AndKeepsOneASetStillLinks()
    {
        var store = new LocalArtifactStore(Path.Join(_dir, "store"), _key);
        var named = await PutAsync(store, RandomNumberGenerator.GetBytes(1000));
        var linked = await PutAsync(store, RandomNumberGenerator.GetBytes(2000));
        var orphan = await PutAsync(store, RandomNumberGenerator.GetBytes(3000));
        // The registry "lost" the linked one: only the set's files/ tree names it now.
        var identity = await store.CreateSetAsync("sb-kept", default);
        await store.WriteManifestAsync(ArtifactManifest.Empty("sb-kept")
            .With(new ManifestEntry("out/linked.bin", "output", linked.Size, linked.Sha256, DateTimeOffset.UnixEpoch)), identity, default);

        var pruned = await store.PruneAsync(new HashSet<string> { named.Sha256 }, default);
        var again = await store.PruneAsync(new HashSet<string> { named.Sha256 }, default);

        Assert.Equal((1, 3000L), pruned);
        Assert.Equal((0, 0L), again);
        (await store.OpenAsync(named.Sha256, default)).Dispose();
        (await store.OpenAsync(linked.Sha256, default)).Dispose();
        var gone = await Assert.ThrowsAsync<ArtifactException>(() => store.OpenAsync(orphan.Sha256, default));
        Assert.Equal(ErrorCodes.ArtifactNotFound, gone.Code);
    }

    [Fact]
    public async Task S3_DeletesOnlyUnnamedBlobs_AcrossListingPages_AndNothingOutsideItsPrefix()
    {
        using var store = new S3ArtifactStore(new S3StoreOptions(S3Server.Bucket, server.Endpoint, Prefix: "prune/",
            AccessKey: S3Server.AccessKey, SecretKey: S3Server.SecretKey), _key);
        using var neighbour = new S3ArtifactStore(new S3StoreOptions(S3Server.Bucket, server.Endpoint, Prefix: "prune-other/",
            AccessKey: S3Server.AccessKey, SecretKey: S3Server.SecretKey), _key);
        var kept = new List<BlobRef>();
        var dropped = new List<BlobRef>();
        // More than one page of a listing (s3rver answers 1000 keys a page).
        for (var i = 0; i < 1010; i++)
        {
            (i % 101 == 0 ? kept : dropped).Add(await PutAsync(store, BitConverter.GetBytes(i)));
        }
        var other = await PutAsync(neighbour, "another daemon's"u8.ToArray());

        var pruned = await store.PruneAsync(kept.Select(b => b.Sha256).ToHashSet(), default);

        Assert.Equal((dropped.Count, dropped.Sum(b => b.Size)), pruned);
        foreach (var blob in kept)
        {
            (await store.OpenAsync(blob.Sha256, default)).Dispose();
        }
        var gone = await Assert.ThrowsAsync<ArtifactException>(() => store.OpenAsync(dropped[0].Sha256, default));
        Assert.Equal(ErrorCodes.ArtifactNotFound, gone.Code);
        (await neighbour.OpenAsync(other.Sha256, default)).Dispose();
    }
}
