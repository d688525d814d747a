using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Daemon;

/// <summary>A create on a full disk is 507 disk_full, leaves nothing behind, and works again once there is room.</summary>
public sealed class DiskFullCreateTests(SmallDiskDaemonFixture fixture) : IClassFixture<SmallDiskDaemonFixture>
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task ACreateOnAFullDataDir_Is507DiskFull_AndLeavesNothing()
    {
        var before = (await Client.ListSandboxesAsync()).Select(s => s.Id).ToList();
        var workspacesBefore = Directory.GetDirectories(fixture.Workspaces).Length;

        HutchApiException e;
        using (fixture.FillHostDisk(leave: 0))
        {
            e = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest()));
        }

        Assert.Equal((507, ErrorCodes.DiskFull), (e.Status, e.Code));
        Assert.Contains("disk", e.Detail);
        Assert.Equal(before, (await Client.ListSandboxesAsync()).Select(s => s.Id).ToList());
        Assert.Equal(workspacesBefore, Directory.GetDirectories(fixture.Workspaces).Length);
        var created = await Client.CreateSandboxAsync(new CreateSandboxRequest());
        Assert.Equal("ok\n", (await Client.ExecAsync(created.Id, new ExecRequest(Command: "echo ok"))).Stdout);
        await Client.DeleteSandboxAsync(created.Id);
    }
}
