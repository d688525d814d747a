using System.Text;
using Hutch.Linux;
using Hutch.Tests.Infrastructure;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Tests.Linux;

/// <summary>Kernel-enforced containment of paths (security invariant 4), attacked from inside the root.</summary>
[Trait("Category", "Unit")]
public sealed class BeneathTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("hutch-b");
    private readonly string _root;
    private readonly string _outside;

    public BeneathTests()
    {
        _root = Path.Join(_dir, "root");
        _outside = Path.Join(_dir, "outside");
        Directory.CreateDirectory(Path.Join(_root, "src"));
        Directory.CreateDirectory(_outside);
        File.WriteAllText(Path.Join(_root, "src", "a.txt"), "inside");
        File.WriteAllText(Path.Join(_outside, "secret.txt"), "OUTSIDE");
    }

    [Fact]
    public void Open_FileBeneathRoot_Reads()
    {
        using var root = Beneath.OpenRoot(_root);
        Assert.Equal("inside", Read(root, "src/a.txt"));
        Assert.Equal("inside", Read(root, "src/../src/./a.txt"));
    }

    [Theory]
    [InlineData("../outside/secret.txt")]
    [InlineData("src/../../outside/secret.txt")]
    [InlineData("/etc/passwd")]
    public void Open_PathLeavingRoot_IsRefused(string path)
    {
        using var root = Beneath.OpenRoot(_root);
        var e = Assert.Throws<ContainmentException>(() => Read(root, path));
        Assert.Equal(ContainmentViolation.Escapes, e.Violation);
    }

    [Fact]
    public void Open_ThroughSymlinkWhoseTargetEscapes_IsRefused()
    {
        File.CreateSymbolicLink(Path.Join(_root, "abs"), "/etc/passwd");
        File.CreateSymbolicLink(Path.Join(_root, "rel"), "../outside/secret.txt");
        Directory.CreateSymbolicLink(Path.Join(_root, "src", "up"), "../..");
        using var root = Beneath.OpenRoot(_root);

        Assert.Equal(ContainmentViolation.Escapes, Assert.Throws<ContainmentException>(() => Read(root, "abs")).Violation);
        Assert.Equal(ContainmentViolation.Escapes, Assert.Throws<ContainmentException>(() => Read(root, "rel")).Violation);
        Assert.Equal(ContainmentViolation.Escapes, Assert.Throws<ContainmentException>(() => Read(root, "src/up/outside/secret.txt")).Violation);
    }

    [Fact]
    public void Open_ThroughSymlinkInsideRoot_IsAllowedUnlessSymlinksAreRefused()
    {
        Directory.CreateSymbolicLink(Path.Join(_root, "alias"), "src");
        using var root = Beneath.OpenRoot(_root);

        Assert.Equal("inside", Read(root, "alias/a.txt"));
        var e = Assert.Throws<ContainmentException>(() => Beneath.Open(root, "alias/a.txt", Beneath.O_RDONLY, noSymlinks: true).Dispose());
        Assert.Equal(ContainmentViolation.Symlink, e.Violation);
    }

    [Fact]
    public void Open_ProcMagicLink_IsRefused()
    {
        // A root that contains /proc-like magic links: /proc/self itself, opened as the root.
        using var proc = Beneath.OpenRoot("/proc/self");
        Assert.Throws<ContainmentException>(() => Beneath.Open(proc, "root/etc/passwd", Beneath.O_RDONLY).Dispose());
        Assert.Throws<ContainmentException>(() => Beneath.Open(proc, "cwd", Beneath.O_PATH).Dispose());
    }

    [Fact]
    public async Task Open_WhileADirectoryIsSwappedForAnEscapingSymlinkInALoop_NeverReadsOutside()
    {
        // The attack of issue #3: code inside swaps `d` between a real directory and a symlink to a
        // host directory as fast as it can, while the API opens `d/secret.txt` again and again.
        var d = Path.Join(_root, "d");
        var real = Path.Join(_root, "d.real");
        var link = Path.Join(_root, "d.link");
        Directory.CreateDirectory(real);
        File.WriteAllText(Path.Join(real, "secret.txt"), "inside");
        Directory.CreateSymbolicLink(link, _outside);
        using var stop = new CancellationTokenSource();
        using var started = new ManualResetEventSlim();
        // A thread of its own: with the thread pool busy (other test classes run meanwhile on 2 cores),
        // a pool task was seen not to start at all within the race's 1.5 s.
        var swapper = Task.Factory.StartNew(() =>
        {
            var swaps = 0;
            started.Set();
            while (!stop.IsCancellationRequested)
            {
                // rename(2) replaces atomically: `d` is always either the directory or the symlink.
                Rename(real, d);
                Rename(d, real);
                Rename(link, d);
                Rename(d, link);
                swaps++;
            }
            return swaps;
        }, TaskCreationOptions.LongRunning);
        started.Wait();
        stop.CancelAfter(TimeSpan.FromSeconds(1.5));
        using var root = Beneath.OpenRoot(_root);
        int inside = 0, refused = 0, missing = 0;
        var leaked = new List<string>();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var text = Read(root, "d/secret.txt");
                if (text == "inside")
                {
                    inside++;
                }
                else
                {
                    leaked.Add(text);
                }
            }
            catch (ContainmentException)
            {
                refused++;
            }
            catch (Hutch.Linux.Interop.LinuxException)
            {
                missing++; // ENOENT between renames
            }
        }
        var swaps = await swapper;

        Assert.Empty(leaked);
        Assert.True(swaps > 100, $"the swapper ran {swaps} times");
        Assert.True(refused > 0, $"the symlink was met and refused (inside {inside}, refused {refused}, missing {missing})");
    }

    /// <summary>rename(2) of a directory or of a symlink to one (Directory.Move renames the link itself).</summary>
    private static void Rename(string from, string to) => Directory.Move(from, to);

    private static string Read(SafeFileHandle root, string path)
    {
        using var handle = Beneath.Open(root, path, Beneath.O_RDONLY);
        using var stream = new FileStream(handle, FileAccess.Read);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
