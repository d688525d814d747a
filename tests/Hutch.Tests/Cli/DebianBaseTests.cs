using Hutch.Cli;
using Hutch.Cli.Commands;

namespace Hutch.Tests.Cli;

/// <summary>`hutch template debian --include`: what reaches mmdebstrap is package names, never an option of its own.</summary>
[Trait("Category", "Unit")]
public class DebianBaseTests
{
    [Fact]
    public void Includes_AreSplitOnCommas_InOrder_OnceEach()
    {
        Assert.Equal(["python3-pip", "git", "libstdc++6", "g++-12"], DebianBase.Packages(["python3-pip,git", " libstdc++6 ", "git,g++-12,"]));
        Assert.Empty(DebianBase.Packages([]));
    }

    [Theory]
    [InlineData("--variant=buildd")]
    [InlineData("Python3")]
    [InlineData("pkg;rm -rf /")]
    [InlineData("a")]
    [InlineData("pkg name")]
    public void AnIncludeThatIsNotADebianPackageName_IsRefused_NamingIt(string include)
    {
        var refused = Assert.Throws<CliException>(() => DebianBase.Packages(["git", include]));

        Assert.Contains($"--include '{include.Split(',')[0].Trim()}' is not a Debian package name", refused.Message, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Usage, refused.ExitCode);
    }
}
