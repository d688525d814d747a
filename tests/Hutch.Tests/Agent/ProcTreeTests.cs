using System.Text;
using Hutch.Linux;

namespace Hutch.Tests.Agent;

/// <summary>The /proc scan behind "kill the whole process tree".</summary>
[Trait("Category", "Unit")]
public sealed class ProcTreeTests
{
    [Fact]
    public void TryParseStat_WithSpacesAndParenthesesInName_ReadsFieldsAfterLastParenthesis()
    {
        var line = "4242 (evil ) S 1 2 (x) R 7 8 9 10) S 17 4242 4200 34816 4242 4194560 0 0 0 0 0 0 0 0 20 0 1 0\n";

        Assert.True(ProcTree.TryParseStat(Encoding.ASCII.GetBytes(line), out var stat));

        Assert.Equal(new ProcStat(4242, 'S', 17, 4242, 4200), stat);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("12 (x)")]
    [InlineData("12 (x) S notanumber 1 1")]
    public void TryParseStat_WhenMalformed_ReturnsFalse(string line)
    {
        Assert.False(ProcTree.TryParseStat(Encoding.ASCII.GetBytes(line), out _));
    }

    [Fact]
    public void FindTree_CollectsSessionGroupAndDescendants_SkipsZombiesAndStrangers()
    {
        ProcStat[] processes =
        [
            new(1, 'S', 0, 1, 1),        // init: never part of a tree
            new(100, 'S', 1, 100, 100),  // the command (setsid: session = group = pid)
            new(101, 'S', 100, 100, 100),// its child
            new(102, 'S', 101, 102, 102),// a grandchild that called setsid: found by parent chain
            new(103, 'S', 102, 102, 102),// and its child
            new(104, 'S', 1, 100, 100),  // an orphan re-parented to init: found by session
            new(105, 'Z', 100, 100, 100),// a zombie: nothing to signal
            new(106, 'S', 105, 100, 106),// child of the zombie in its own group, same session
            new(107, 'S', 200, 100, 200),// another session's process that joined group 100
            new(200, 'S', 1, 200, 200),  // unrelated
            new(201, 'S', 200, 200, 200),// unrelated
        ];

        var tree = ProcTree.FindTree(processes, 100);

        Assert.Equal([100, 101, 102, 103, 104, 106, 107], tree.Order());
        Assert.DoesNotContain(101, ProcTree.FindTree(processes, 100, exclude: 101));
    }

    [Fact]
    public void FindTree_AfterPidWrapAround_PutsTheCommandFirst()
    {
        // pids wrapped: the children got lower numbers than the command, and /proc lists them first.
        // Signalling a child first would let the command see it die and exit 137 before its own SIGKILL.
        ProcStat[] processes =
        [
            new(5, 'S', 32000, 32000, 32000),
            new(6, 'S', 32000, 32000, 32000),
            new(32000, 'S', 1, 32000, 32000),
        ];

        var tree = ProcTree.FindTree(processes, 32000);

        Assert.Equal(32000, tree[0]);
        Assert.Equal([5, 6, 32000], tree.Order());
    }

    [Fact]
    public void Snapshot_SeesThisProcessWithItsParent()
    {
        var self = ProcTree.Snapshot().Single(p => p.Pid == Environment.ProcessId);

        Assert.Equal(File.ReadAllText("/proc/self/stat").Split(' ')[3], self.ParentPid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.False(self.IsGone);
    }
}
