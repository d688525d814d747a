using Hutch.Artifacts;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Artifacts;

public sealed class ArtifactGlobsTests
{
    [Fact]
    public void Globs_MatchAsDocumented_AndTheirRootsAreTheFewestDirectoriesToWalk()
    {
        var globs = ArtifactGlobs.Parse(["out/**", "*.pdf", "reports/*.csv", "out/charts/*.png", "notes.txt", "data/**/*.parquet"]);

        Assert.True(globs.IsMatch("out/a/b/c.bin"));
        Assert.True(globs.IsMatch("report.pdf"));
        Assert.False(globs.IsMatch("sub/report.pdf"));
        Assert.True(globs.IsMatch("reports/q1.csv"));
        Assert.False(globs.IsMatch("reports/old/q1.csv"));
        Assert.True(globs.IsMatch("notes.txt"));
        Assert.True(globs.IsMatch("data/x/y/z.parquet"));
        Assert.False(globs.IsMatch("Report.PDF.txt"));
        Assert.Equal(
            [new ArtifactGlobs.Root("", false), new ArtifactGlobs.Root("out", true), new ArtifactGlobs.Root("data", true), new ArtifactGlobs.Root("reports", false)],
            globs.Roots);
    }

    [Fact]
    public void AnyDepth_MakesTheWholeWorkspaceOneRoot()
    {
        var globs = ArtifactGlobs.Parse(["**/*.png", "out/**"]);

        Assert.Equal([new ArtifactGlobs.Root("", true)], globs.Roots);
        Assert.True(globs.IsMatch("a/b/c.png"));
        Assert.True(globs.IsMatch("c.png"));
    }

    [Theory]
    [InlineData("/workspace/out/**")]
    [InlineData("../etc/passwd")]
    [InlineData("out/../../x")]
    [InlineData("out//x")]
    [InlineData("")]
    [InlineData("a\0b")]
    public void AGlobOutsideTheWorkspace_OrMalformed_IsRefused_NamingIt(string glob)
    {
        var error = Assert.Throws<ArtifactException>(() => ArtifactGlobs.Parse(["ok/**", glob]));

        Assert.Equal(ErrorCodes.InvalidArtifactGlob, error.Code);
        Assert.StartsWith("artifacts.globs[1]:", error.Message);
    }

    [Fact]
    public void TooManyGlobs_AreRefused()
    {
        var error = Assert.Throws<ArtifactException>(() => ArtifactGlobs.Parse(Enumerable.Range(0, 65).Select(i => $"d{i}/**").ToList()));

        Assert.Equal(ErrorCodes.InvalidArtifactGlob, error.Code);
    }
}
