using Hutch.Linux;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Linux;

/// <summary>Deleting whatever a sandbox built: any depth, never through a symlink.</summary>
[Trait("Category", "Unit")]
public sealed class TreeRemoverTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("hutch-tr");

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            TreeRemover.Delete(_dir);
        }
    }

    /// <summary>
    /// 20,000 levels, the attack review's case: the remover moves a subtree up every 64 levels, 312
    /// moves in all, more than the bound on re-reading a directory that someone else keeps filling.
    /// </summary>
    [Fact]
    public void ATree20000Deep_IsDeleted()
    {
        var tree = Path.Join(_dir, "tree");
        Directory.CreateDirectory(tree);
        using (var root = Beneath.OpenRoot(tree))
        {
            var current = Beneath.Open(root, "", Beneath.O_PATH | Beneath.O_DIRECTORY);
            for (var i = 0; i < 20_000; i++)
            {
                At.MakeDirectory(current, "dd", 0x1ed);
                if (i % 100 == 0)
                {
                    File.WriteAllText($"/proc/self/fd/{current.DangerousGetHandle()}/f", "x");
                }
                var next = Beneath.Open(current, "dd", Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true);
                current.Dispose();
                current = next;
            }
            current.Dispose();
        }
        Assert.Throws<ArgumentException>(() => Directory.Delete(tree, recursive: true));

        TreeRemover.Delete(tree);

        Assert.False(Directory.Exists(tree));
    }

    [Fact]
    public void SymlinksInTheTree_AreRemovedNotFollowed()
    {
        var outside = Path.Join(_dir, "outside");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Join(outside, "keep"), "k");
        var tree = Path.Join(_dir, "tree", "a", "b");
        Directory.CreateDirectory(tree);
        File.CreateSymbolicLink(Path.Join(tree, "link"), outside);
        File.CreateSymbolicLink(Path.Join(_dir, "tree", "top"), outside);

        TreeRemover.Delete(Path.Join(_dir, "tree"));

        Assert.False(Directory.Exists(Path.Join(_dir, "tree")));
        Assert.Equal("k", File.ReadAllText(Path.Join(outside, "keep")));
    }

    [Fact]
    public void AMissingDirectory_IsFine() => TreeRemover.Delete(Path.Join(_dir, "missing"));
}
