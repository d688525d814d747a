using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>The user's home is outside the workspace: caches and history never show up in the user's project; it is writable and capped.</summary>
[Collection(DaemonCollection.Name)]
public class HomeTests(DaemonFixture fixture)
{
    [Fact]
    public async Task WritesToHome_StayOutOfTheWorkspace()
    {
        await using var sandbox = await fixture.CreateAsync();

        var result = await sandbox.ShAsync("""
            echo $HOME; getent passwd user | cut -d: -f6
            mkdir -p ~/.cache/pip ~/.npm && echo wheel > ~/.cache/pip/w && echo pkg > ~/.npm/p && echo 'ls' >> ~/.bash_history
            cat ~/.cache/pip/w; ls -A /workspace | wc -l
            """);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("/home/user\n/home/user\nwheel\n0\n", result.Stdout);
        var list = await fixture.Client.ListFilesAsync(sandbox.Id, "");
        Assert.Empty(list.Entries);
    }

    [Fact]
    public async Task Home_IsCapped()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(TmpMiB: 4)));

        var result = await sandbox.ShAsync("dd if=/dev/zero of=$HOME/big bs=1M count=8 2>&1; df -k $HOME | tail -1");

        Assert.Contains("No space left on device", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Root_HasAHomeOfItsOwn()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: "root"));

        var result = await sandbox.ShAsync("echo $HOME; getent passwd root | cut -d: -f6; touch ~/x && echo ok");

        Assert.Equal("/root\n/root\nok\n", result.Stdout);
    }
}
