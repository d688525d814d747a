using Hutch.Client.Sync;
using static Hutch.Tests.Client.Sync.SyncTestTree;

namespace Hutch.Tests.Client.Sync;

/// <summary>Names that break naive tools: unicode, newlines, control characters, spaces, long paths.</summary>
[Trait("Category", "Unit")]
public class NamesTests
{
    public static TheoryData<string> Names() =>
    [
        "ü名前.txt",
        "line\nbreak.txt",
        "carriage\rreturn",
        "tab\there",
        " leading space",
        "trailing space ",
        "emoji 😀",
        @"back\slash",
        "quote\"and'apostrophe",
        "dir with ✓/file ✗",
        new string('l', 200) + "/" + new string('m', 200),
        "-dash-first",
        "#hash",
        "!bang",
        "*star?",
    ];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task AName_SurvivesPush_Pull_AndAConflictCopy(string name)
    {
        using var t = new SyncTestTree();
        Write(t.Local, name, "base");
        await t.PushAsync();
        Assert.Equal("base", Read(t.Sandbox, name));

        Write(t.Local, name, "local");
        Write(t.Sandbox, name, "sandbox");
        var report = await t.PullAsync();

        Assert.Equal(new SyncConflict(name, SyncConflictKind.BothChanged, name + ".sandbox"), Assert.Single(report.Conflicts));
        Assert.Equal("local", Read(t.Local, name));
        Assert.Equal("sandbox", Read(t.Local, name + ".sandbox"));

        File.Delete(Path.Join(t.Local, name + ".sandbox"));
        await t.PushAsync();
        Assert.Equal("local", Read(t.Sandbox, name));
    }

    [Fact]
    public async Task ASymlinkTarget_WithANewline_IsKeptExactly()
    {
        using var t = new SyncTestTree();
        Directory.CreateDirectory(t.Sandbox);
        File.CreateSymbolicLink(Path.Join(t.Sandbox, "odd link"), "two\nlines");

        await t.PullAsync();

        Assert.Equal("two\nlines", new FileInfo(Path.Join(t.Local, "odd link")).LinkTarget);
    }
}
