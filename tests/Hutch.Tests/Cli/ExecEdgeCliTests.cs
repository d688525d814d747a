using System.Text.Json;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>`hutch exec` at issue #10's edges, as the published program: what a timeout killed.</summary>
[Collection(DaemonCollection.Name)]
public sealed class ExecEdgeCliTests(DaemonFixture fixture)
{
    [Fact]
    public async Task OnTimeout_TheJsonSaysWhichGroupWasKilled_AndTheStderrLineNamesIt()
    {
        await using var sandbox = await fixture.CreateAsync();

        var json = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, "exec", sandbox.Id, "--json", "--timeout", "0.3", "--", "sleep", "100");
        var human = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, "exec", sandbox.Id, "--timeout", "0.3", "--", "sleep", "100");

        Assert.Equal(124, json.Code);
        using var result = JsonDocument.Parse(json.Stdout);
        var killed = result.RootElement.GetProperty("killed");
        Assert.Equal(("timeout", "SIGKILL", 1), (killed.GetProperty("reason").GetString(), killed.GetProperty("signal").GetString(), killed.GetProperty("processes").GetInt32()));
        Assert.True(result.RootElement.GetProperty("durationMs").GetInt64() >= 250);
        Assert.Equal(124, human.Code);
        Assert.Matches(@"killed: SIGKILL to its process group \d+ \(1 process\)", human.Stderr);
    }
}
