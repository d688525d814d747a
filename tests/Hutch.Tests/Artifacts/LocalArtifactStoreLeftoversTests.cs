using System.Security.Cryptography;
using Hutch.Artifacts;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Artifacts;

/// <summary>
/// What a kill between a manifest write's links and its rename leaves in a set, laid out by hand
/// (the kill itself is ArtifactCrashTests'): removed at start, and the set deletes to nothing after.
/// </summary>
public sealed class LocalArtifactStoreLeftoversTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hutch-artifacts-").FullName;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Root => Path.Join(_dir, "store");

    private async Task<ManifestEntry> PutAsync(LocalArtifactStore store, string path, string text)
    {
        var source = Path.Join(_dir, Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(source, text);
        using var handle = File.OpenHandle(source);
        var blob = await store.PutAsync(handle, default);
        return new ManifestEntry(path, "output", blob.Size, blob.Sha256, DateTimeOffset.UnixEpoch);
    }

    [Fact]
    public async Task TempManifests_LinksTheManifestDoesNotName_AndNewerVersions_AreRemovedOrPutBack_AndTheSetDeletesToNothing()
    {
        var store = new LocalArtifactStore(Root, _key);
        var identity = await store.CreateSetAsync("sb-left", default);
        var kept = await PutAsync(store, "out/kept.csv", "kept");
        await store.WriteManifestAsync(ArtifactManifest.Empty("sb-left").With(kept), identity, default);
        // A later write that linked its files and was killed before its manifest's rename:
        var newer = await PutAsync(store, "out/kept.csv", "newer");
        var extra = await PutAsync(store, "out/deep/extra.csv", "extra");
        await store.WriteManifestAsync(ArtifactManifest.Empty("sb-left").With(newer).With(extra), identity, default);
        var set = Path.Join(Root, "sets", "sb-left");
        var signed = ArtifactManifest.Empty("sb-left").With(kept).ToSignedJson(_key);
        File.SetUnixFileMode(Path.Join(set, "manifest.json"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllBytesAsync(Path.Join(set, "manifest.json"), signed);   // the manifest in place is still the first one
        await File.WriteAllTextAsync(Path.Join(set, ".manifest-0011223344556677"), "{\"half\":");
        await File.WriteAllTextAsync(Path.Join(set, "files", "out", ".link-8899aabbccddeeff"), "");

        await store.RemoveLeftoversAsync("sb-left", identity, default);
        var left = Directory.EnumerateFileSystemEntries(set, "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(set, p)).Order().ToList();
        var keptContent = await File.ReadAllTextAsync(Path.Join(set, "files", "out", "kept.csv"));
        var deleted = await store.DeleteSetAsync("sb-left", identity, default);

        Assert.Equal(["files", "files/out", "files/out/kept.csv", "manifest.json"], left);
        Assert.Equal("kept", keptContent);   // linked to the manifest's version again
        Assert.Equal(["out/kept.csv"], deleted);
        Assert.False(Directory.Exists(set));
    }

    [Fact]
    public async Task AManifestThatDoesNotVerify_RemovesNothing()
    {
        var store = new LocalArtifactStore(Root, _key);
        var identity = await store.CreateSetAsync("sb-bad", default);
        await store.WriteManifestAsync(ArtifactManifest.Empty("sb-bad").With(await PutAsync(store, "out/a.csv", "a")), identity, default);
        var set = Path.Join(Root, "sets", "sb-bad");
        File.SetUnixFileMode(Path.Join(set, "manifest.json"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllBytesAsync(Path.Join(set, "manifest.json"), ArtifactManifest.Empty("sb-bad").ToSignedJson(RandomNumberGenerator.GetBytes(32)));

        var error = await Assert.ThrowsAsync<ArtifactException>(() => store.RemoveLeftoversAsync("sb-bad", identity, default));

        Assert.Equal(ErrorCodes.ArtifactManifestInvalid, error.Code);
        Assert.True(File.Exists(Path.Join(set, "files", "out", "a.csv")));
    }
}
