using System.Text;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>
/// `hutch run` and `hutch rm --no-wait` on a running daemon: they return once the daemon has taken the
/// delete on, and the daemon removes the sandbox completely in the background.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class RunOnADaemonTests(DaemonFixture fixture)
{
    [Fact]
    public async Task Run_ExitsWithTheCommandsStatus_AndTheDaemonRemovesTheSandboxAfter()
    {
        var label = "run-test=" + Guid.NewGuid().ToString("N")[..8];

        var (code, stdout, _) = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, "run", "--label", label, "--", "sh", "-c", "echo hi; exit 3");

        Assert.Equal((3, "hi\n"), (code, Encoding.UTF8.GetString(stdout)));
        await GoneAsync(label);
    }

    [Fact]
    public async Task RmNoWait_ReturnsAtOnce_AndTheSandboxIsGoneSoonAfter()
    {
        var label = "rm-test=" + Guid.NewGuid().ToString("N")[..8];
        var sandbox = await fixture.Client.CreateSandboxAsync(new CreateSandboxRequest(Labels: Labels(label)));

        var (code, stdout, stderr) = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, "rm", "--no-wait", sandbox.Id);

        Assert.Equal((0, sandbox.Id + "\n", ""), (code, Encoding.UTF8.GetString(stdout), stderr));
        await GoneAsync(label);
        Assert.Empty(HostInspector.LeftoversOf(fixture.DataDir, sandbox.Id));
    }

    private static Dictionary<string, string> Labels(string label) => new() { [label.Split('=')[0]] = label.Split('=')[1] };

    private async Task GoneAsync(string label)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await fixture.Client.ListSandboxesAsync(Labels(label))).Count > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the sandbox labelled {label} was still listed 10 s after its delete began");
            await Task.Delay(50);
        }
    }
}
