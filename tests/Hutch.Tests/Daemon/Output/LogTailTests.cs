using System.Text;
using Hutch.Daemon.Services;

namespace Hutch.Tests.Daemon.Output;

[Trait("Category", "Unit")]
public sealed class LogTailTests
{
    [Fact]
    public void ALineLongerThanTheBudget_IsKeptAsItsEnd_NeverWhole()
    {
        var tail = new LogTail(lines: 10, maxBytes: 1000);
        var chunk = Encoding.ASCII.GetBytes(new string('a', 4096));

        for (var i = 0; i < 10_000; i++)
        {
            tail.Add(chunk);
        }
        tail.Add("b\nlast\n"u8);

        Assert.Equal(new string('a', 1000 - 7) + "b\nlast\n", tail.ToString());
    }

    [Fact]
    public void TheLastLines_AreKept_UpToTheCountAndTheBudget()
    {
        var tail = new LogTail(lines: 3, maxBytes: 1000);

        tail.Add("one\ntwo\nthr"u8);
        tail.Add("ee\nfour\nfi"u8);

        Assert.Equal("three\nfour\nfi", tail.ToString());
    }

    [Fact]
    public void ACharacterSplitBetweenChunks_IsDecodedWhole()
    {
        var tail = new LogTail(lines: 3);
        var bytes = "é😀\n"u8.ToArray();

        foreach (var b in bytes)
        {
            tail.Add([b]);
        }

        Assert.Equal("é😀\n", tail.ToString());
    }
}
