using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// The records of background processes (logs, exit statuses) live in a host directory that the agent
/// holds as a descriptor. Sandboxed code, even the same uid as the agent, must neither find it nor
/// forge a record the daemon would believe (invariants 1 and 4).
/// </summary>
[Collection(DaemonCollection.Name)]
public class ProcessRecordsAttackTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task TheRecordsDirectory_IsNotReachableFromInside()
    {
        await using var sandbox = await fixture.CreateAsync();
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "echo marker-$((6*7)); sleep 30"));
        await Task.Delay(200);

        // The agent's fds (the records directory among them) through /proc, a search for the files, and the mount table.
        var probe = await sandbox.ShAsync(
            "ls -l /proc/1/fd 2>&1 | head -3; echo ---; " +
            "find / -xdev \\( -name start.json -o -name 'log.0*' \\) 2>/dev/null | head; echo ---; " +
            "grep -c records /proc/self/mountinfo; echo ---; " +
            "grep -rl marker-42 /tmp /workspace /proc/1/cwd 2>/dev/null | head");

        var parts = probe.Stdout.Split("---\n");
        Assert.Contains("Permission denied", parts[0]);
        Assert.Equal("", parts[1]);
        Assert.Equal("0\n", parts[2]);
        Assert.Equal("", parts[3].Trim());
        Assert.Equal(ProcessStates.Running, (await Client.GetProcessAsync(sandbox.Id, started.Id)).State);
    }

    [Fact]
    public async Task ASymlinkPlantedInTheRecordsDirectory_IsNeverFollowedByTheDaemon()
    {
        await using var sandbox = await fixture.CreateAsync();
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "echo real"));
        await Client.WaitProcessAsync(sandbox.Id, started.Id);
        // As if a compromised agent replaced its exit record and log with links to host files.
        var dir = Path.Join(fixture.DataDir, "sandboxes", sandbox.Id, "records", started.Id);
        var segment = Directory.GetFiles(dir, "log.*").Single();
        File.Delete(segment);
        File.CreateSymbolicLink(segment, "/etc/shadow");
        File.Delete(Path.Join(dir, "exit.json"));
        File.CreateSymbolicLink(Path.Join(dir, "exit.json"), "/etc/passwd");

        var logs = await Client.ReadProcessLogsAsync(sandbox.Id, started.Id);
        var info = await Client.GetProcessAsync(sandbox.Id, started.Id);

        Assert.Equal("", logs.Stdout); // the linked "segment" is not a segment: nothing of /etc/shadow
        Assert.Equal(ProcessStates.Failed, info.State); // the planted exit record was not read
        Assert.Contains("damaged", info.Error);
    }
}
