using Hutch.Cli;

namespace Hutch.Tests.Cli;

[Trait("Category", "Unit")]
public class ExitCodeTests
{
    [Theory]
    [InlineData(0, null, false, 0)]
    [InlineData(3, null, false, 3)]
    [InlineData(null, "SIGKILL", false, 137)]
    [InlineData(null, "SIGTERM", false, 143)]
    [InlineData(null, "SIGSEGV", false, 139)]
    [InlineData(null, "INT", false, 130)]
    [InlineData(null, "6", false, 134)]
    [InlineData(null, "SIGKILL", true, 124)]
    [InlineData(0, null, true, 124)]
    [InlineData(300, null, false, 44)]
    public void TheExitStatus_IsWhatAShellWouldReport(int? exitCode, string? signal, bool timedOut, int expected) =>
        Assert.Equal(expected, ExitCodes.For(exitCode, signal, timedOut));
}
