using System.Security.Cryptography;
using System.Text;
using Hutch.Artifacts;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Tests.Artifacts;

/// <summary>The embedded store on this host's disk: blobs once, signed manifests, and the root-identity rules under attack.</summary>
public sealed class LocalArtifactStoreTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hutch-artifacts-").FullName;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Root => Path.Join(_dir, "store");

    private SafeFileHandle Source(string text)
    {
        var path = Path.Join(_dir, Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, text);
        return File.OpenHandle(path);
    }

    private async Task<ManifestEntry> PutAsync(LocalArtifactStore store, string path, string text, int minute)
    {
        using var source = Source(text);
        var blob = await store.PutAsync(source, default);
        return new ManifestEntry(path, "output", blob.Size, blob.Sha256, new DateTimeOffset(2026, 12, 4, 12, minute, 0, TimeSpan.Zero));
    }

    [Fact]
    public async Task EqualContent_IsStoredOnce_AndASetsFilesAreItsBlobs()
    {
        var store = new LocalArtifactStore(Root, _key);
        var a = await PutAsync(store, "out/a.txt", "same bytes", 1);
        var b = await PutAsync(store, "out/deep/b.txt", "same bytes", 2);
        var identity = await store.CreateSetAsync("sb-one", default);
        await store.WriteManifestAsync(ArtifactManifest.Empty("sb-one").With(a).With(b), identity, default);

        var blobs = Directory.GetFiles(Path.Join(Root, "blobs"), "*", SearchOption.AllDirectories);
        var read = await store.ReadManifestAsync("sb-one", default);
        using var content = await store.OpenAsync(a.Sha256, default);

        Assert.Equal(a.Sha256, b.Sha256);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("same bytes"))), a.Sha256);
        Assert.Single(blobs);
        Assert.Equal(["out/a.txt", "out/deep/b.txt"], read!.Entries.Select(e => e.Path));
        Assert.Equal("same bytes", new StreamReader(content).ReadToEnd());
        Assert.Equal("same bytes", File.ReadAllText(Path.Join(Root, "sets", "sb-one", "files", "out", "deep", "b.txt")));
        Assert.Equal(3u, Templates.LayerSandbox.Stat(blobs[0]).Links);   // the blob and the two names in the set
    }

    [Fact]
    public async Task AnEditedManifest_IsRefused_NotBelieved()
    {
        var store = new LocalArtifactStore(Root, _key);
        var identity = await store.CreateSetAsync("sb-two", default);
        await store.WriteManifestAsync(ArtifactManifest.Empty("sb-two").With(await PutAsync(store, "report.pdf", "%PDF", 1)), identity, default);
        var path = Path.Join(Root, "sets", "sb-two", "manifest.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("report.pdf", "../../../etc/passwd", StringComparison.Ordinal));

        var read = await Assert.ThrowsAsync<ArtifactException>(() => store.ReadManifestAsync("sb-two", default));
        var delete = await Assert.ThrowsAsync<ArtifactException>(() => store.DeleteSetAsync("sb-two", identity, default));
        var otherKey = new LocalArtifactStore(Root, RandomNumberGenerator.GetBytes(32));
        File.Delete(path);
        await store.WriteManifestAsync(ArtifactManifest.Empty("sb-two"), identity, default);
        var wrongKey = await Assert.ThrowsAsync<ArtifactException>(() => otherKey.ReadManifestAsync("sb-two", default));

        Assert.Equal(ErrorCodes.ArtifactManifestInvalid, read.Code);
        Assert.Equal(ErrorCodes.ArtifactManifestInvalid, delete.Code);
        Assert.Equal(ErrorCodes.ArtifactManifestInvalid, wrongKey.Code);
        Assert.True(File.Exists(Path.Join(Root, "sets", "sb-two", "files", "report.pdf")), "a refused delete removed nothing");
    }

    [Fact]
    public async Task ASwappedOrSymlinkedSetRoot_StopsWritesAndDeletes_BeforeAnythingChanges()
    {
        var store = new LocalArtifactStore(Root, _key);
        var identity = await store.CreateSetAsync("sb-three", default);
        var entry = await PutAsync(store, "a.txt", "a", 1);
        await store.WriteManifestAsync(ArtifactManifest.Empty("sb-three").With(entry), identity, default);
        var setDir = Path.Join(Root, "sets", "sb-three");
        var elsewhere = Path.Join(_dir, "elsewhere");
        Directory.CreateDirectory(Path.Join(elsewhere, "files"));
        File.WriteAllText(Path.Join(elsewhere, "files", "a.txt"), "not the store's");

        // Swapped: the set's directory moved away and another put in its place.
        Directory.Move(setDir, setDir + ".moved");
        Directory.CreateDirectory(Path.Join(setDir, "files"));
        var write = await Assert.ThrowsAsync<ArtifactException>(() =>
            store.WriteManifestAsync(ArtifactManifest.Empty("sb-three").With(entry with { Path = "b.txt" }), identity, default));
        Directory.Delete(setDir, recursive: true);
        // Symlinked: the set's name now leads outside the store.
        File.CreateSymbolicLink(setDir, elsewhere);
        var delete = await Assert.ThrowsAsync<ArtifactException>(() => store.DeleteSetAsync("sb-three", identity, default));

        Assert.Equal(ErrorCodes.ArtifactRootChanged, write.Code);
        Assert.Equal(ErrorCodes.ArtifactRootChanged, delete.Code);
        Assert.Equal("not the store's", File.ReadAllText(Path.Join(elsewhere, "files", "a.txt")));
        Assert.False(File.Exists(Path.Join(elsewhere, "files", "b.txt")));
        Assert.False(File.Exists(Path.Join(elsewhere, "manifest.json")));
        Assert.True(File.Exists(Path.Join(setDir + ".moved", "files", "a.txt")));
    }

    [Fact]
    public async Task Cleanup_DeletesOnlyWhatWasRecorded_NewestFirst_ThenTheManifestAndTheRoot()
    {
        var store = new LocalArtifactStore(Root, _key);
        var identity = await store.CreateSetAsync("session:chat-1", default);
        var manifest = ArtifactManifest.Empty("session:chat-1")
            .With(await PutAsync(store, "old.txt", "1", 1))
            .With(await PutAsync(store, "out/newest.csv", "3", 3))
            .With(await PutAsync(store, "out/middle.png", "2", 2));
        await store.WriteManifestAsync(manifest, identity, default);

        var deleted = await store.DeleteSetAsync("session:chat-1", identity, default);

        Assert.Equal(["out/newest.csv", "out/middle.png", "old.txt"], deleted);
        Assert.False(Directory.Exists(Path.Join(Root, "sets", "session:chat-1")));

        // A file nobody recorded keeps its directory (and the set's root) in place.
        var again = await store.CreateSetAsync("sb-four", default);
        await store.WriteManifestAsync(ArtifactManifest.Empty("sb-four").With(await PutAsync(store, "out/x", "x", 1)), again, default);
        File.WriteAllText(Path.Join(Root, "sets", "sb-four", "files", "out", "unrecorded"), "keep me");
        var second = await store.DeleteSetAsync("sb-four", again, default);

        Assert.Equal(["out/x"], second);
        Assert.Equal("keep me", File.ReadAllText(Path.Join(Root, "sets", "sb-four", "files", "out", "unrecorded")));
    }

    [Fact]
    public async Task ANameAManifestNoLongerHas_LeavesTheSetsFiles_SoACleanupEmptiesTheSet()
    {
        var store = new LocalArtifactStore(Root, _key);
        var identity = await store.CreateSetAsync("sb-five", default);
        var kept = await PutAsync(store, "out/kept.csv", "k", 1);
        var dropped = await PutAsync(store, "out/moved/f.csv", "d", 2);
        await store.WriteManifestAsync(ArtifactManifest.Empty("sb-five").With(kept).With(dropped), identity, default);

        // The next manifest no longer names out/moved/f.csv (its file was pending again, changed while kept).
        await store.WriteManifestAsync(ArtifactManifest.Empty("sb-five").With(kept), identity, default);
        var files = Directory.EnumerateFiles(Path.Join(Root, "sets", "sb-five", "files"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Path.Join(Root, "sets", "sb-five", "files"), f)).ToList();
        var deleted = await store.DeleteSetAsync("sb-five", identity, default);

        Assert.Equal(["out/kept.csv"], files);
        Assert.False(Directory.Exists(Path.Join(Root, "sets", "sb-five", "files", "out", "moved")));
        Assert.Equal(["out/kept.csv"], deleted);
        Assert.False(Directory.Exists(Path.Join(Root, "sets", "sb-five")));
    }
}
