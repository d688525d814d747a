using Hutch.Runtime.Templates;

namespace Hutch.Tests.Templates;

/// <summary>The Dockerfile reader: continuations, comments, keywords, JSON forms and Docker's word rules.</summary>
[Trait("Category", "Unit")]
public sealed class DockerfileParserTests
{
    private static readonly Dictionary<string, string> Vars = new() { ["A"] = "one", ["EMPTY"] = "" };

    private static string? Lookup(string name) => Vars.TryGetValue(name, out var v) ? v : null;

    [Fact]
    public void Continuations_JoinLines_CommentsAndBlankLinesInsideAreSkipped_KeywordsAnyCase()
    {
        var parsed = Dockerfile.Parse("from base\n\n# c\nrun echo a \\\n# inside\n\n  && echo b\nCmd [\"x\", \"y\"]\nENTRYPOINT [not json\n", out _);

        Assert.Equal(["FROM", "RUN", "CMD", "ENTRYPOINT"], parsed.Select(i => i.Keyword));
        Assert.Equal("echo a   && echo b", parsed[1].Arguments);
        Assert.Equal(4, parsed[1].Line);
        Assert.Equal(["x", "y"], parsed[2].Json!);
        Assert.Null(parsed[3].Json);
    }

    [Fact]
    public void TheEscapeDirective_MakesBacktickTheContinuation()
    {
        var parsed = Dockerfile.Parse("# escape=`\nFROM base\nRUN dir c:\\ `\n  /b\n", out var escape);

        Assert.Equal('`', escape);
        Assert.Equal("dir c:\\   /b", parsed[1].Arguments);
    }

    [Theory]
    [InlineData("$A ${A} ${A}x", new[] { "one", "one", "onex" })]
    [InlineData("'$A' \"$A b\" \\$A", new[] { "$A", "one b", "$A" })]
    [InlineData("${MISSING:-dflt} ${EMPTY:-e} ${A:+set} ${MISSING:+set}x", new[] { "dflt", "e", "set", "x" })]
    [InlineData("a\\ b \"q\\\"t\"", new[] { "a b", "q\"t" })]
    public void Words_FollowDockersQuotingAndSubstitution(string text, string[] expected)
    {
        Assert.Equal(expected, Dockerfile.Words(text, Lookup, '\\', split: true, line: 1));
    }

    [Theory]
    [InlineData("\"open")]
    [InlineData("${A")]
    [InlineData("${A/x/y}")]
    public void BrokenQuotesAndSubstitutions_AreRefusedWithTheLine(string text)
    {
        var refused = Assert.Throws<DockerfileException>(() => Dockerfile.Words(text, Lookup, '\\', split: true, line: 7));

        Assert.Equal(7, refused.Line);
        Assert.StartsWith("line 7:", refused.Message);
    }
}
