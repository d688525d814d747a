using System.Text;
using Hutch.Mcp.Tools;

namespace Hutch.Tests.Mcp;

/// <summary>How answers show output: text cut at any byte stays text, binary is counted not dumped, terminal escapes go.</summary>
public sealed class McpAnswerShapingTests
{
    [Fact]
    public void TextCutInsideACharacter_IsStillText_AndShowsOnlyWholeCharacters()
    {
        var bytes = Encoding.UTF8.GetBytes("naïve café");
        var headCut = bytes[..^1]; // inside é
        var tailCut = bytes[3..]; // inside ï

        Assert.True(ShownOutput.IsText(headCut));
        Assert.True(ShownOutput.IsText(tailCut));
        Assert.Equal("naïve caf", ShownOutput.Of(headCut, [], headCut.Length, "stdout", null));
        Assert.Equal("ve café", ShownOutput.Of(tailCut, [], tailCut.Length, "stdout", null));
    }

    [Theory]
    [InlineData(new byte[] { 0x41, 0x00, 0x42 })]
    [InlineData(new byte[] { 0xFF, 0xFE })]
    [InlineData(new byte[] { 0x41, 0xC3, 0x28, 0x42 })]
    public void BinaryOutput_IsCountedNeverDumped(byte[] bytes)
    {
        var shown = ShownOutput.Of(bytes, [], 1000, "stdout", "output(offset: {offset})");

        Assert.False(ShownOutput.IsText(bytes));
        Assert.Equal("[1,000 bytes of binary stdout not shown: read it with output(offset: 0) (base64)]", shown);
    }

    [Fact]
    public void ACutStream_ShowsHeadMarkerAndTail_WithTheOffsetToReadOnFrom()
    {
        var shown = ShownOutput.Of("head\n"u8, "tail\n"u8, 1000, "stderr", "output(stream: \"stderr\", offset: {offset})");

        Assert.Equal("head\n\n[… 990 bytes of stderr cut here (1,000 in all): read them with output(stream: \"stderr\", offset: 5) …]\ntail\n", shown);
    }

    [Fact]
    public void TerminalOutput_LosesColoursCursorMovesAndTitles()
    {
        const string Terminal = "\u001b]0;user@sb: /workspace\u0007\u001b[?2004h$ \u001b[31mred\u001b[0m 42\r\n\u001b[2K\u001b[1A done";

        Assert.Equal("$ red 42\n done", ShellTools.Plain(Terminal));
    }
}
