using Hutch.Files.Checkpoints;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Files.Checkpoints;

/// <summary>
/// One small XFS volume with reflinks (a sparse loop image in a temp directory), shared by the
/// tests that need one and unmounted when they are done. Needs root and mkfs.xfs (eng/ensure-deps.sh
/// installs xfsprogs): without them the tests fail rather than skip.
/// </summary>
public sealed class XfsVolumeFixture : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("hutch-xfs");

    public XfsVolumeFixture()
    {
        Volume = WorkspaceVolume.Ensure(Path.Join(_dir, "workspaces"), new WorkspaceVolumeOptions { ImageSize = 2L << 30, FileSystem = WorkspaceFileSystem.Xfs });
        if (!Volume.Reflinks)
        {
            Volume.Unmount();
            throw new InvalidOperationException($"no XFS volume for the checkpoint tests: {Volume.Description}");
        }
    }

    public WorkspaceVolume Volume { get; }

    /// <summary>A fresh directory on the volume, for one test.</summary>
    public string NewDirectory()
    {
        var dir = Path.Join(Volume.Directory, Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public void Dispose()
    {
        Volume.Unmount();
        Directory.Delete(_dir, recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class XfsCollection : ICollectionFixture<XfsVolumeFixture>
{
    public const string Name = "XFS volume";
}
