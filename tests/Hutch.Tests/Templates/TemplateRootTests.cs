using System.Security.Cryptography;
using Hutch.Client;
using Hutch.Daemon.Templates;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Templates;

/// <summary>A sandbox made from a template: its own writable root over the template's shared, unchanged layers.</summary>
[Collection(DaemonCollection.Name)]
public sealed class TemplateRootTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    /// <summary>A template of one layer made from <see cref="MinimalRoot"/>, put in the store as an import would.</summary>
    private TemplateRecord MakeTemplate(string[]? start = null, ProbeSpec? readiness = null) =>
        MinimalRoot.AddTemplate(fixture.Daemon.Engine, "t" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), null,
            new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["FROM_TEMPLATE"] = "yes" }, start, readiness);

    [Fact]
    public async Task RootInside_ChangesItsRoot_AndOnlyItsOwn_WhileTheTemplateStaysAsItWas()
    {
        var template = MakeTemplate();
        await using var first = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name, User: "root"));
        await using var second = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Reference, User: "root"));

        var read = await first.ShAsync("cat /etc/template-file; id -u; echo $FROM_TEMPLATE");
        var write = await first.ShAsync("echo changed > /etc/template-file && mkdir -p /opt/tool && echo new > /opt/tool/file && cat /etc/template-file /opt/tool/file");
        var other = await second.ShAsync("cat /etc/template-file; ls /opt 2>&1");

        Assert.True(read.Stdout == "from the template\n0\nyes\n", $"{read.ExitCode} [{read.Stdout}] [{read.Stderr}]");
        Assert.Equal(0, write.ExitCode);
        Assert.Equal("changed\nnew\n", write.Stdout);
        Assert.Equal("from the template\n", other.Stdout.Split('\n')[0] + "\n");
        Assert.Contains("No such file", other.Stdout);
        var layer = fixture.Daemon.Engine.TemplateRoots.Paths.Layer(template.Manifest.Layers[0]);
        Assert.Equal("from the template\n", File.ReadAllText(Path.Join(layer, "etc", "template-file")));
        Assert.Equal(template.Reference, (await Client.GetSandboxAsync(first.Id)).Template);
    }

    [Fact]
    public async Task TheSandboxUser_ReadsTheTemplatesFiles_ButCannotChangeRootsOnes()
    {
        var template = MakeTemplate();
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name));

        var result = await sandbox.ShAsync("id -u; stat -c '%u %a' /etc/template-file; echo x > /etc/template-file");

        Assert.StartsWith("1000\n0 644\n", result.Stdout);
        Assert.Contains("Permission denied", result.Stderr);
        Assert.NotEqual(0, result.ExitCode);
    }

    [Fact]
    public async Task TheRoot_IsNosuidAndNodev_AndIsUnmountedWithTheSandbox()
    {
        var template = MakeTemplate();
        var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name));
        var root = fixture.Daemon.Engine.TemplateRoots.Paths.Root(sandbox.Id);

        var mounts = await sandbox.ShAsync("cat /proc/self/mountinfo");
        Assert.True(Hutch.Linux.IdMappedOverlay.IsMounted(root));
        await sandbox.DisposeAsync();
        // A delete may finish after its answer (202): wait for the sandbox to be gone.
        for (var i = 0; i < 100 && Directory.Exists(root); i++)
        {
            await Task.Delay(50);
        }

        var rootLine = mounts.Stdout.Split('\n').First(line => line.Split(' ') is { Length: > 4 } f && f[4] == "/");
        Assert.Contains("nosuid", rootLine);
        Assert.Contains("nodev", rootLine);
        Assert.False(Directory.Exists(root));
        Assert.False(Hutch.Linux.IdMappedOverlay.IsMounted(root));
    }

    [Fact]
    public async Task Templates_AreListedAndShown_AndOneInUse_CannotBeDeleted()
    {
        var template = MakeTemplate();
        var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name));

        var listed = (await Client.ListTemplatesAsync()).Single(t => t.Name == template.Name);
        var shown = await Client.GetTemplateAsync(template.Name, "1");
        var inUse = await Assert.ThrowsAsync<HutchApiException>(() => Client.DeleteTemplateAsync(template.Name));
        await sandbox.DisposeAsync();
        await Client.DeleteTemplateAsync(template.Name, "1");
        var gone = await Assert.ThrowsAsync<HutchApiException>(() => Client.GetTemplateAsync(template.Name));
        var badName = await Assert.ThrowsAsync<HutchApiException>(() => fixture.CreateAsync(new CreateSandboxRequest(Template: "Bad Name")));
        var unknown = await Assert.ThrowsAsync<HutchApiException>(() => fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name)));

        Assert.Equal(("1", template.Digest, 1, 1L), (listed.Version, listed.Digest, listed.Layers, listed.InUse));
        Assert.Equal("yes", shown.Env["FROM_TEMPLATE"]);
        Assert.Equal((409, ErrorCodes.TemplateInUse), (inUse.Status, inUse.Code));
        Assert.Contains(template.Reference, inUse.Message);
        Assert.Equal((404, ErrorCodes.TemplateNotFound), (gone.Status, gone.Code));
        Assert.Equal((400, ErrorCodes.InvalidTemplate), (badName.Status, badName.Code));
        Assert.Equal((404, ErrorCodes.TemplateNotFound), (unknown.Status, unknown.Code));
    }

    [Fact]
    public void AVersion_NeverChanges_AndNumbersFollowOnWhenNoneIsGiven()
    {
        var store = fixture.Daemon.Engine.Templates;
        var manifest = new TemplateManifest(["sha256:" + new string('a', 64)], []);
        var other = new TemplateManifest(["sha256:" + new string('b', 64)], []);

        var first = store.Add("versions", null, "directory", manifest);
        var again = store.Add("versions", "1", "directory", manifest);
        var second = store.Add("versions", null, "directory", other);
        var clash = Assert.Throws<Hutch.Daemon.HutchException>(() => store.Add("versions", "1", "directory", other));
        store.Remove("versions", null);

        Assert.Equal(("1", "2"), (first.Version, second.Version));
        Assert.Equal(first.Digest, again.Digest);
        Assert.NotEqual(first.Digest, second.Digest);
        Assert.Equal(ErrorCodes.TemplateExists, clash.Code);
    }

    [Fact]
    public async Task RootInATemplatesRoot_HasWhatPackageInstallsNeed_OverItsOwnFilesOnly()
    {
        var template = MakeTemplate();
        await using var asRoot = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name, User: "root"));
        await using var asUser = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name));
        await using var hostRoot = await fixture.CreateAsync(new CreateSandboxRequest(User: "root"));

        var chown = await asRoot.ShAsync("chown 100:101 /etc/template-file && stat -c '%u %g' /etc/template-file && touch /.hutch/lib/libc.so.6");
        var caps = await asRoot.ShAsync("cat /proc/self/status");
        var userCaps = await asUser.ShAsync("cat /proc/self/status");
        var hostRootCaps = await hostRoot.ShAsync("grep CapEff /proc/self/status");

        Assert.StartsWith("100 101\n", chown.Stdout);
        Assert.NotEqual(0, chown.ExitCode); // the host's libc, bound read-only, stays out of reach
        Assert.Contains("NoNewPrivs:\t1", caps.Stdout);
        Assert.Contains("CapEff:\t00000000000404fb", caps.Stdout);
        Assert.Contains("CapEff:\t0000000000000000", userCaps.Stdout);
        Assert.Equal("CapEff:\t0000000000000000\n", hostRootCaps.Stdout);
    }

    [Fact]
    public async Task WritesToTheRoot_CountAgainstTheSandboxsDiskQuota_AndOnlyItsOwn()
    {
        var template = MakeTemplate();
        await using var small = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name, User: "root", Limits: new SandboxLimits(DiskMiB: 32)));
        await using var other = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name, User: "root"));

        // dd is not in the template: 1 MiB made in /tmp (memory), appended again and again.
        await small.ShAsync("s=x; i=0; while [ $i -lt 20 ]; do s=$s$s; i=$((i+1)); done; echo $s > /tmp/mib");
        var full = await small.ShAsync("i=0; while [ $i -lt 64 ]; do cat /tmp/mib >> /opt-big 2>/dev/null || { echo stopped at $i; exit 0; }; i=$((i+1)); done; echo never stopped",
            timeoutMs: 60_000);
        var otherWrite = await other.ShAsync("echo fine > /etc/other && cat /etc/other");

        Assert.StartsWith("stopped at", full.Stdout);
        Assert.Equal("fine\n", otherWrite.Stdout);
    }

    [Fact]
    public async Task ATemplatesStartCommand_RunsAndPassesItsProbe_BeforeTheCreateAnswers()
    {
        var template = MakeTemplate(["/bin/sh", "-c", "sleep 0.5; echo started > /tmp/ready-flag; while true; do sleep 1; done"],
            new ProbeSpec("command", Command: "test -f /tmp/ready-flag", IntervalMs: 50));
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name));

        var flag = await sandbox.ShAsync("cat /tmp/ready-flag");
        var service = await Client.GetServiceAsync(sandbox.Id, "start");

        Assert.Equal("started\n", flag.Stdout);
        Assert.Equal(ServiceStates.Ready, service.State);
    }

    [Fact]
    public async Task AStartCommandThatFails_FailsTheCreate_WithItsOutput_AndLeavesNoSandbox()
    {
        var template = MakeTemplate(["/bin/sh", "-c", "echo cannot start: no config >&2; exit 3"]);
        var before = (await Client.ListSandboxesAsync()).Count;

        var error = await Assert.ThrowsAsync<HutchApiException>(() => fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name)));

        Assert.Equal((422, ErrorCodes.TemplateStartFailed), (error.Status, error.Code));
        Assert.Contains("cannot start: no config", error.Message);
        Assert.Equal(before, (await Client.ListSandboxesAsync()).Count);
    }

    [Fact]
    public async Task RootsCapabilities_DoNotReachTheAgent_ItsMemory_OrTheHostsFiles()
    {
        var template = MakeTemplate();
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name, User: "root", Env: new() { ["TOKEN"] = "s3cr3t-value" }));

        // The agent (pid 1) is not dumpable: its environ and memory need CAP_SYS_PTRACE, which root here lacks.
        var environ = await sandbox.ShAsync("cat /proc/1/environ");
        var memory = await sandbox.ShAsync("cat /proc/1/mem");
        var kill = await sandbox.ShAsync("kill -KILL 1; kill -TERM 1; true");
        var alive = await sandbox.ShAsync("echo alive");
        // The host's loader and libraries, bound read-only: neither written nor replaced, even with DAC_OVERRIDE and CHOWN.
        var host = await sandbox.ShAsync("echo x >> /.hutch/lib/libc.so.6; chown 0:0 /.hutch/ld.so; rm -f /.hutch/agent; ls /.hutch");

        Assert.NotEqual(0, environ.ExitCode);
        Assert.DoesNotContain("s3cr3t", environ.Stdout);
        Assert.NotEqual(0, memory.ExitCode);
        Assert.Equal("alive\n", alive.Stdout);
        Assert.Contains("Read-only file system", host.Stderr);
        Assert.Contains("agent", host.Stdout);
    }
}
