using Hutch.Client.Sync;

namespace Hutch.Tests.Client.Sync;

[Trait("Category", "Unit")]
public class PathMatcherTests
{
    [Theory]
    // A name pattern matches at any depth.
    [InlineData("*.log", "a.log", false, true)]
    [InlineData("*.log", "deep/er/a.log", false, true)]
    [InlineData("*.log", "a.log.txt", false, false)]
    [InlineData("*", ".hidden", false, true)]
    // A trailing slash: directories only, and everything under them.
    [InlineData("node_modules/", "node_modules", true, true)]
    [InlineData("node_modules/", "node_modules", false, false)]
    [InlineData("node_modules/", "web/node_modules/left-pad/index.js", false, true)]
    // "x/**": everything inside x, not x itself; anchored because of the inner slash.
    [InlineData("build/**", "build/out.o", false, true)]
    [InlineData("build/**", "build/a/b/c", false, true)]
    [InlineData("build/**", "build", true, false)]
    [InlineData("build/**", "src/build/out.o", false, false)]
    // A leading slash anchors at the top.
    [InlineData("/rooted", "rooted", false, true)]
    [InlineData("/rooted", "sub/rooted", false, false)]
    [InlineData("/rooted", "rooted/inside", false, true)]
    // "**/x": x at any depth, the top included.
    [InlineData("**/tmp", "tmp", true, true)]
    [InlineData("**/tmp", "a/b/tmp", true, true)]
    [InlineData("**/tmp", "a/tmp/file", false, true)]
    [InlineData("**/tmp", "a/tmpfile", false, false)]
    // "a/**/b": zero or more directories between.
    [InlineData("a/**/b", "a/b", false, true)]
    [InlineData("a/**/b", "a/x/y/b", false, true)]
    [InlineData("a/**/b", "x/a/b", false, false)]
    // An inner slash anchors; '*' never crosses a '/'.
    [InlineData("docs/*.md", "docs/a.md", false, true)]
    [InlineData("docs/*.md", "docs/sub/a.md", false, false)]
    [InlineData("docs/*.md", "x/docs/a.md", false, false)]
    // '?', classes, escapes.
    [InlineData("?.txt", "a.txt", false, true)]
    [InlineData("?.txt", "ab.txt", false, false)]
    [InlineData("[a-c]*", "bx", false, true)]
    [InlineData("[a-c]*", "dx", false, false)]
    [InlineData("[!a-c]*", "bx", false, false)]
    [InlineData("[!a-c]*", "dx", false, true)]
    [InlineData("[]]", "]", false, true)]
    [InlineData("[unclosed", "[unclosed", false, true)]
    [InlineData(@"\*", "*", false, true)]
    [InlineData(@"\*", "a", false, false)]
    [InlineData("a**b", "axyzb", false, true)]
    // Comments and escapes of the comment and negation marks.
    [InlineData("#x", "#x", false, false)]
    [InlineData(@"\#x", "#x", false, true)]
    [InlineData(@"\!x", "!x", false, true)]
    // Names sync must handle: unicode, newlines, spaces.
    [InlineData("*.txt", "line\nbreak.txt", false, true)]
    [InlineData("ü*", "über/名前", false, true)]
    [InlineData("with space", "dir/with space", false, true)]
    // Case matters, as on Linux.
    [InlineData("*.LOG", "a.log", false, false)]
    public void OnePattern(string pattern, string path, bool isDirectory, bool expected)
    {
        Assert.Equal(expected, new PathMatcher([pattern]).IsMatch(path, isDirectory));
    }

    [Fact]
    public void ANegation_ReIncludesWhatAnEarlierPatternMatched()
    {
        var matcher = new PathMatcher(["*.log", "!keep.log"]);

        Assert.True(matcher.IsMatch("other.log", false));
        Assert.False(matcher.IsMatch("keep.log", false));
        Assert.False(matcher.IsMatch("sub/keep.log", false));
    }

    [Fact]
    public void TheLastMatchingPatternWins()
    {
        Assert.True(new PathMatcher(["!a", "a"]).IsMatch("a", false));
        Assert.False(new PathMatcher(["a", "!a"]).IsMatch("a", false));
    }

    [Fact]
    public void NothingInsideAMatchedDirectory_CanBeReIncluded_AsInGit()
    {
        var matcher = new PathMatcher(["logs/", "!logs/keep.log"]);

        Assert.True(matcher.IsMatch("logs/keep.log", false));
    }

    [Fact]
    public void NoPatterns_MatchNothing()
    {
        Assert.False(PathMatcher.None.IsMatch("anything", false));
        Assert.False(new PathMatcher(["", "#comment", "/", "!"]).IsMatch("anything", true));
    }
}
