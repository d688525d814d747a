using System.Diagnostics;
using Hutch.Files.Checkpoints;
using Hutch.Linux;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Files.Checkpoints;

/// <summary>Setting up the workspaces' volume on this host's ext4: a sparse btrfs loop image with reflinks and quotas, or less and why.</summary>
public sealed class WorkspaceVolumeTests : IDisposable
{
    private const long Size = 512L << 20;   // mkfs.xfs wants at least 300 MiB
    private readonly string _dir = TestPaths.NewTempDir("hutch-vol");
    private readonly string _workspaces;
    private readonly List<WorkspaceVolume> _mounted = [];

    public WorkspaceVolumeTests()
    {
        _workspaces = Path.Join(_dir, "workspaces");
        Directory.CreateDirectory(_workspaces, (UnixFileMode)0x1c9);   // 0711, as the daemon makes it
    }

    public void Dispose()
    {
        foreach (var volume in _mounted)
        {
            volume.Unmount();
        }
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Ensure_OnAnEmptyDirectoryOfExt4_MountsASparseBtrfsImageWithReflinksAndQuotas()
    {
        var volume = Ensure();

        Assert.True(volume.Reflinks, volume.Description);
        Assert.NotNull(volume.Quotas);
        Assert.Equal(_workspaces + ".img", volume.Image);
        Assert.Contains(" " + _workspaces + " ", File.ReadAllText("/proc/self/mountinfo").Split('\n').Single(l => l.Contains(" btrfs ") && l.Contains(_workspaces)));
        Assert.Equal(0x1c9, (int)File.GetUnixFileMode(_workspaces));
        Assert.Equal(Size, new FileInfo(volume.Image!).Length);
        Assert.True(AllocatedBytes(volume.Image!) < Size / 4, "the image is not sparse");
        Assert.True(Clone(_workspaces), "FICLONE does not work on the volume");
    }

    [Fact]
    public void Ensure_OnAnXfsImageOfAnOlderHutch_KeepsItWithoutQuotas_AndSaysHowToMove()
    {
        var old = WorkspaceVolume.Ensure(_workspaces, new WorkspaceVolumeOptions { ImageSize = Size, FileSystem = WorkspaceFileSystem.Xfs });
        old.Unmount();

        var volume = Ensure();

        Assert.True(volume.Reflinks, volume.Description);
        Assert.Null(volume.Quotas);
        Assert.Contains("holds xfs, not btrfs", volume.QuotaDescription);
        Assert.Contains("remove the image", volume.QuotaDescription);
    }

    [Fact]
    public void Ensure_OnTheMountedVolume_UsesItAsIs()
    {
        var first = Ensure();

        var second = WorkspaceVolume.Ensure(_workspaces);

        Assert.True(second.Reflinks);
        Assert.Equal(first.Image, second.Image);
        Assert.Single(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(" " + _workspaces + " "));
    }

    [Fact]
    public void Ensure_AfterAnUnmount_MountsTheSameImageAgain_WithItsFiles()
    {
        var volume = Ensure();
        File.WriteAllText(Path.Join(_workspaces, "kept.txt"), "still here");
        volume.Unmount();
        _mounted.Remove(volume);
        Assert.False(File.Exists(Path.Join(_workspaces, "kept.txt")));

        var again = Ensure();

        Assert.True(again.Reflinks, again.Description);
        Assert.Equal("still here", File.ReadAllText(Path.Join(_workspaces, "kept.txt")));
    }

    [Fact]
    public void Ensure_OnADirectoryThatHoldsWorkspaces_MountsNothing_AndSaysWhy()
    {
        Directory.CreateDirectory(Path.Join(_workspaces, "sandbox-1"));

        var volume = WorkspaceVolume.Ensure(_workspaces, new WorkspaceVolumeOptions { ImageSize = Size });

        Assert.False(volume.Reflinks);
        Assert.Null(volume.Image);
        Assert.Contains("already holds workspaces", volume.Description);
        Assert.False(File.Exists(_workspaces + ".img"));
    }

    [Fact]
    public void Ensure_WhenTurnedOff_MountsNothing()
    {
        var volume = WorkspaceVolume.Ensure(_workspaces, new WorkspaceVolumeOptions { Mode = WorkspaceVolumeMode.Off });

        Assert.False(volume.Reflinks);
        Assert.Contains("turned off", volume.Description);
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(" " + _workspaces + " "));
    }

    private WorkspaceVolume Ensure()
    {
        var volume = WorkspaceVolume.Ensure(_workspaces, new WorkspaceVolumeOptions { ImageSize = Size });
        if (volume.Image is not null)
        {
            _mounted.Add(volume);
        }
        return volume;
    }

    private static bool Clone(string directory)
    {
        var a = Path.Join(directory, "a");
        File.WriteAllBytes(a, new byte[1 << 20]);
        using var source = File.OpenHandle(a);
        using var target = File.OpenHandle(Path.Join(directory, "b"), FileMode.CreateNew, FileAccess.Write);
        return At.CloneOrCopy(source, target);
    }

    private static long AllocatedBytes(string file)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%b %B", file]) { RedirectStandardOutput = true })!;
        var parts = stat.StandardOutput.ReadToEnd().Split(' ');
        stat.WaitForExit();
        return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
