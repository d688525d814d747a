using System.Security.Cryptography;
using Hutch.Artifacts;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Artifacts;

/// <summary>A daemon whose artifacts may have at most 1 MiB (HUTCH_ARTIFACT_MAX_BYTES).</summary>
public sealed class ArtifactLimitFixture : DaemonFixture
{
    public const long MaxBytes = 1 << 20;

    protected override HutchOptions Configure(HutchOptions options) => options with { WarmPool = 0, ArtifactMaxBytes = MaxBytes };
}

[CollectionDefinition(Name)]
public sealed class ArtifactLimitCollection : ICollectionFixture<ArtifactLimitFixture>
{
    public const string Name = "artifact size limit";
}

/// <summary>A file over the limit is never kept: a command's detection skips it, a record of it is 413, and nothing of it stays in the store.</summary>
[Collection(ArtifactLimitCollection.Name)]
public sealed class ArtifactSizeLimitTests(ArtifactLimitFixture fixture) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hutch-limit-").FullName;

    private HutchClient Client => fixture.Client;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task AFileOverTheLimit_IsSkippedByDetection_AndARecordOfItIs413()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));

        var result = await sandbox.ShAsync("mkdir out && echo small > out/small.txt && head -c 1048577 /dev/zero > out/big.bin && head -c 1048576 /dev/zero > out/edge.bin");
        var record = await Assert.ThrowsAsync<HutchApiException>(() => Client.RecordArtifactAsync(sandbox.Id, "out/big.bin"));
        var listed = await Client.ListArtifactsAsync(sandbox.Id);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(["out/edge.bin", "out/small.txt"], result.Artifacts!.Select(a => a.Path).Order());
        Assert.Equal((413, ErrorCodes.ArtifactTooLarge), (record.Status, record.Code));
        Assert.DoesNotContain(listed.Artifacts, a => a.Path == "out/big.bin");
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Join(fixture.Options.ArtifactDir, "tmp")));
    }

    [Fact]
    public async Task TheLocalStore_RefusesAFileOverItsLimit_AndLeavesNoTempFile()
    {
        var store = new LocalArtifactStore(Path.Join(_dir, "store"), RandomNumberGenerator.GetBytes(32)) { MaxBytes = 100 };
        var over = Path.Join(_dir, "over");
        var at = Path.Join(_dir, "at");
        await File.WriteAllBytesAsync(over, new byte[101]);
        await File.WriteAllBytesAsync(at, new byte[100]);

        using var overHandle = File.OpenHandle(over);
        var refused = await Assert.ThrowsAsync<ArtifactException>(() => store.PutAsync(overHandle, default));
        using var atHandle = File.OpenHandle(at);
        var kept = await store.PutAsync(atHandle, default);

        Assert.Equal(ErrorCodes.ArtifactTooLarge, refused.Code);
        Assert.Equal(100, kept.Size);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Join(_dir, "store", "tmp")));
    }
}
