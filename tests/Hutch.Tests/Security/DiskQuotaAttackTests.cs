using System.Diagnostics;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// Invariant 5, disk: one sandbox filling the shared workspace volume (with blocks, with files, or
/// through the file API) meets its own quota, enforced by the kernel, and the others keep writing.
/// </summary>
[Collection(DaemonCollection.Name)]
public class DiskQuotaAttackTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task FillingTheWorkspaceWithBlocks_StopsAtItsQuotaWithEdquot_AndAnotherSandboxStillWrites()
    {
        await using var hog = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(DiskMiB: 8)));
        await using var neighbour = await fixture.CreateAsync();

        var fill = await hog.ShAsync("dd if=/dev/zero of=/workspace/fill bs=1M count=64 2>&1; sync -f /workspace; stat -c %s /workspace/fill", timeoutMs: 30_000);
        var other = await neighbour.ShAsync("dd if=/dev/zero of=/workspace/mine bs=1M count=16 2>&1 && echo wrote");
        var info = await Client.GetSandboxAsync(hog.Id);

        Assert.Contains("Disk quota exceeded", fill.Stdout);
        Assert.True(long.Parse(fill.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]) <= 8 << 20, fill.Stdout);
        Assert.EndsWith("wrote\n", other.Stdout);
        Assert.Equal(8L << 20, info.Usage!.DiskLimitBytes);
        Assert.InRange(info.Usage.DiskBytes!.Value, 6L << 20, 8L << 20);
    }

    [Fact]
    public async Task FloodingTheWorkspaceWithEmptyFiles_StopsAtItsQuotaWithEdquot()
    {
        await using var hog = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(DiskMiB: 1)));

        // Each file costs metadata, which the quota counts: about 2,600 empty files fill 1 MiB.
        // (true, not ':': a failed redirection of a special builtin ends a POSIX shell.)
        var flood = await hog.ShAsync("i=0; while [ $i -lt 100000 ]; do true > /workspace/f$i || break; i=$((i+1)); done; echo made=$i", timeoutMs: 60_000);

        Assert.False(flood.TimedOut, "the flood should meet the quota long before the timeout");
        Assert.Contains("Disk quota exceeded", flood.Stderr);
        Assert.InRange(int.Parse(flood.Stdout.Trim()["made=".Length..]), 100, 20_000);
    }

    [Fact]
    public async Task AnUploadBeyondTheQuota_Is507DiskFull_AndLeavesNothingHalfWritten()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(DiskMiB: 2)));

        var e = await Assert.ThrowsAsync<HutchApiException>(() =>
            Client.UploadAsync(sandbox.Id, "big.bin", new MemoryStream(new byte[8 << 20])));
        var left = await sandbox.ShAsync("ls -A /workspace | wc -l");
        var after = await Client.WriteTextAsync(sandbox.Id, "small.txt", "still writable\n");

        Assert.Equal((507, ErrorCodes.DiskFull), (e.Status, e.Code));
        Assert.Equal("0\n", left.Stdout);
        Assert.Equal(15, after.Size);
    }

    /// <summary>
    /// Output past the daemon's memory budget spills to disk: into the sandbox's own staging
    /// directory, so its quota pays for it and a flood of big outputs cannot fill the data dir's disk.
    /// </summary>
    [Fact]
    public async Task ACommandsOutputBeyondTheQuota_IsTruncated_NotSpilledOntoTheHostsDisk()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(DiskMiB: 8)));

        var response = await fixture.Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "head -c 64M /dev/zero", MaxOutputBytes: 128L << 20, Encoding: "base64"));

        Assert.True(response.Truncated);
        Assert.InRange(Convert.FromBase64String(response.Stdout).Length, 1 << 20, 9 << 20);
        Assert.Equal("ok\n", (await sandbox.ShAsync("echo ok")).Stdout);
    }

    [Fact]
    public async Task CreatingASubvolumeOrSnapshotInside_ToLeaveTheQuota_Fails()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: "root", Limits: new SandboxLimits(DiskMiB: 4)));

        var result = await sandbox.ShAsync(
            "btrfs subvolume create /workspace/escape 2>&1; btrfs subvolume snapshot /workspace /workspace/snap 2>&1; "
            + "btrfs qgroup limit none /workspace 2>&1; dd if=/dev/zero of=/workspace/fill bs=1M count=16 2>&1; ls -A /workspace");

        Assert.Contains("Operation not permitted", result.Stdout);
        Assert.Contains("Disk quota exceeded", result.Stdout);
        Assert.Equal("fill", result.Stdout.Trim().Split('\n')[^1]);
    }

    [Fact]
    public async Task ADeletedSandbox_LeavesNoQuotaBehind_AndANewOneStartsEmpty()
    {
        var quotas = fixture.Daemon.Engine.Volume.Quotas!;
        var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(DiskMiB: 4)));
        await sandbox.ShAsync("head -c 3000000 /dev/zero > /workspace/data");
        await Client.CreateCheckpointAsync(sandbox.Id, "one");
        var workspace = Path.Join(fixture.DataDir, "workspaces", sandbox.Id);
        var checkpoints = Path.Join(fixture.DataDir, "workspaces", ".checkpoints", sandbox.Id);
        var ids = new[] { quotas.IdOf(workspace)!.Value, quotas.IdOf(checkpoints)!.Value };

        await Client.DeleteSandboxAsync(sandbox.Id);
        await using var next = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(DiskMiB: 4)));
        await next.ShAsync("sync -f /workspace");
        var fresh = await Client.GetSandboxAsync(next.Id);

        Assert.False(Directory.Exists(workspace));
        Assert.False(Directory.Exists(checkpoints));
        // The kernel drops a deleted subvolume in the background (its cleaner runs after each commit,
        // every 30 s), and its qgroup with it; `btrfs filesystem sync` wakes the cleaner now.
        var qgroups = Path.Join("/sys/fs/btrfs", QgroupsOf(fixture.DataDir), "qgroups");
        var deadline = Stopwatch.StartNew();
        while (ids.Any(id => Directory.Exists(Path.Join(qgroups, $"0_{id}"))) && deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            Run("btrfs", "filesystem", "sync", Path.Join(fixture.DataDir, "workspaces"));
            await Task.Delay(200);
        }
        Assert.All(ids, id => Assert.False(Directory.Exists(Path.Join(qgroups, $"0_{id}")), $"qgroup 0/{id} is still there: {Run("btrfs", "subvolume", "list", "-d", Path.Join(fixture.DataDir, "workspaces"))} {Run("btrfs", "qgroup", "show", "-re", Path.Join(fixture.DataDir, "workspaces"))}"));
        Assert.DoesNotContain(quotas.IdOf(Path.Join(fixture.DataDir, "workspaces", next.Id))!.Value, ids);
        Assert.InRange(fresh.Usage!.DiskBytes!.Value, 0, 64 << 10);
    }

    private static string Run(string program, params string[] args)
    {
        using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        return output;
    }

    /// <summary>The btrfs UUID of the daemon's workspace volume, as /sys/fs/btrfs names it.</summary>
    private static string QgroupsOf(string dataDir)
    {
        using var findmnt = Process.Start(new ProcessStartInfo("findmnt", ["-n", "-o", "UUID", Path.Join(dataDir, "workspaces")]) { RedirectStandardOutput = true })!;
        var uuid = findmnt.StandardOutput.ReadToEnd().Trim();
        findmnt.WaitForExit();
        return uuid;
    }
}
