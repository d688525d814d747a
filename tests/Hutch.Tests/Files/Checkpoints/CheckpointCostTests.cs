using System.Diagnostics;
using Hutch.Files;
using Hutch.Files.Checkpoints;

namespace Hutch.Tests.Files.Checkpoints;

/// <summary>
/// What a checkpoint costs on XFS with reflinks: time and disk space independent of the data's
/// size. Assertions with a wide margin, not benchmarks (measured numbers: src/Hutch.Files/Checkpoints/README.md).
/// </summary>
[Collection(XfsCollection.Name)]
public sealed class CheckpointCostTests(XfsVolumeFixture volume) : IDisposable
{
    private const long FileSize = 256L << 20;
    private readonly string _root = volume.NewDirectory();

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void CheckpointOfA256MiBFile_TakesWellUnderASecond_AndAlmostNoSpace()
    {
        var (workspace, store) = Open();
        using (workspace)
        using (store)
        {
            WriteRandom(Path.Join(workspace.HostDirectory, "big.bin"), FileSize);
            var freeBefore = Free();

            var clock = Stopwatch.StartNew();
            store.Create("c1");
            clock.Stop();

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"checkpoint took {clock.Elapsed.TotalMilliseconds:0} ms");
            Assert.True(freeBefore - Free() < FileSize / 8, $"checkpoint used {(freeBefore - Free()) >> 20} MiB");
        }
    }

    [Fact]
    public void ResetOfA256MiBFileWithOneChangedBlock_TakesWellUnderASecond_AndAlmostNoSpace()
    {
        var (workspace, store) = Open();
        using (workspace)
        using (store)
        {
            var path = Path.Join(workspace.HostDirectory, "big.bin");
            WriteRandom(path, FileSize);
            store.Create("c1");
            using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
            {
                file.Position = FileSize / 2;
                file.Write(new byte[4096]);
            }
            var freeBefore = Free();

            var clock = Stopwatch.StartNew();
            var undone = store.Reset("c1");
            clock.Stop();

            Assert.Equal(["big.bin"], undone.Modified);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"reset took {clock.Elapsed.TotalMilliseconds:0} ms");
            Assert.True(freeBefore - Free() < FileSize / 8, $"reset used {(freeBefore - Free()) >> 20} MiB");
        }
    }

    private (Workspace, CheckpointStore) Open()
    {
        var dir = Path.Join(_root, "ws");
        Directory.CreateDirectory(dir);
        var workspace = new Workspace(dir, 100_000, 100_000);
        return (workspace, new CheckpointStore(workspace, Path.Join(_root, ".checkpoints", "sandbox")));
    }

    private static void WriteRandom(string path, long size)
    {
        var chunk = new byte[1 << 20];
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        for (long written = 0; written < size; written += chunk.Length)
        {
            Random.Shared.NextBytes(chunk);
            file.Write(chunk);
        }
        file.Flush(flushToDisk: true);
    }

    /// <summary>statfs of the volume: blocks free, as df shows them.</summary>
    private long Free() => new DriveInfo(volume.Volume.Directory).AvailableFreeSpace;
}
