using Hutch.Files;
using Hutch.Files.Checkpoints;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Files.Checkpoints;

/// <summary>A checkpoint that cannot be finished leaves nothing: here its store is a 1 MiB tmpfs that fills up.</summary>
public sealed class CheckpointFailureTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("hutch-cpf");
    private readonly string _storeVolume;
    private readonly Workspace _workspace;
    private readonly CheckpointStore _store;

    public CheckpointFailureTests()
    {
        var workspace = Path.Join(_dir, "ws");
        Directory.CreateDirectory(workspace);
        _storeVolume = Path.Join(_dir, "store");
        Directory.CreateDirectory(_storeVolume);
        Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", _storeVolume);
        _workspace = new Workspace(workspace, 100_000, 100_000);
        _store = new CheckpointStore(_workspace, Path.Join(_storeVolume, "sandbox"));
        File.WriteAllText(Path.Join(workspace, "small.txt"), "small");
        File.WriteAllBytes(Path.Join(workspace, "big.bin"), new byte[4 << 20]);
    }

    public void Dispose()
    {
        _store.Dispose();
        _workspace.Dispose();
        Run("umount", _storeVolume);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Create_WhenTheDiskFills_FailsAsDiskFull_AndKeepsNothing()
    {
        var e = Assert.Throws<WorkspaceException>(() => _store.Create("too-big"));

        Assert.Equal((ErrorCodes.DiskFull, 507), (e.Code, e.Status));
        Assert.Contains("nothing of it was kept", e.Message);
        Assert.Empty(_store.List());
        Assert.Empty(Directory.GetFileSystemEntries(_store.HostDirectory));
        Assert.Equal(ErrorCodes.CheckpointNotFound, Assert.Throws<WorkspaceException>(() => _store.Diff("too-big")).Code);

        File.Delete(Path.Join(_workspace.HostDirectory, "big.bin"));
        Assert.Equal(1, _store.Create("too-big").Files);
    }

    [Fact]
    public void SetBaseline_WhenTheDiskFills_KeepsTheOldBaseline()
    {
        File.Move(Path.Join(_workspace.HostDirectory, "big.bin"), Path.Join(_dir, "big.bin"));
        _store.SetBaseline();
        File.Move(Path.Join(_dir, "big.bin"), Path.Join(_workspace.HostDirectory, "big.bin"));

        Assert.Equal(ErrorCodes.DiskFull, Assert.Throws<WorkspaceException>(() => _store.SetBaseline()).Code);

        Assert.Equal(["big.bin"], _store.Diff().Added);
        Assert.Equal([".baseline"], Directory.GetFileSystemEntries(_store.HostDirectory).Select(p => Path.GetFileName(p)));
    }

    private static void Run(string program, params string[] arguments)
    {
        using var process = System.Diagnostics.Process.Start(program, arguments);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
    }
}
