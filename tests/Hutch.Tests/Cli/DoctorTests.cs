using Hutch.Cli.Commands;
using Hutch.Cli.Doctor;
using Hutch.Cli.Engine;
using Hutch.Runtime.Limits;

namespace Hutch.Tests.Cli;

[Trait("Category", "Unit")]
public class DoctorTests
{
    private const string V1Mounts = """
        tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
        cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 0
        cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
        cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
        cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
        """;

    private const string V2Mounts = "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\nproc /proc proc rw 0 0\n";

    [Fact]
    public void Cgroups_V1WithTheThreeControllers_Pass() =>
        Assert.True(HostChecks.Cgroups(V1Mounts, _ => null).Ok);

    [Fact]
    public void Cgroups_V1WithoutPids_AndNoUnifiedRoot_Fail()
    {
        var check = HostChecks.Cgroups(V1Mounts.Replace("cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0", ""), _ => null);

        Assert.False(check.Ok);
        Assert.Contains("pids", check.Detail);
        Assert.NotNull(check.Fix);
    }

    [Fact]
    public void Cgroups_V2_ReadsTheRootsControllers()
    {
        Assert.True(HostChecks.Cgroups(V2Mounts, _ => "cpuset cpu io memory hugetlb pids rdma misc\n").Ok);

        var missing = HostChecks.Cgroups(V2Mounts, path => path == "/sys/fs/cgroup/cgroup.controllers" ? "cpuset io memory" : null);
        Assert.False(missing.Ok);
        Assert.Contains("pids, cpu", missing.Detail);
    }

    [Fact]
    public void CaStore_SaysWhatSandboxesGet_AndHowToGiveThemOne_WhenTheHostHasNone()
    {
        var present = HostChecks.CaStore("/etc/ssl/certs");
        Assert.True(present.Ok);
        Assert.Contains("/etc/ssl/certs (with ca-certificates.crt) read-only in every sandbox", present.Detail);

        // Sandboxes still run without one (isolation does not depend on it), but the check says so.
        var missing = HostChecks.CaStore(null);
        Assert.True(missing.Ok);
        Assert.Contains("cannot verify TLS servers", missing.Detail);
        Assert.Contains("apt-get install ca-certificates", missing.Detail);
    }

    [Fact]
    public void OomOrder_SaysWhetherTheDaemonIsProtected()
    {
        Assert.Contains("the daemon protected (-900)", HostChecks.OomOrder(true).Detail);
        Assert.Contains("needs CAP_SYS_RESOURCE", HostChecks.OomOrder(false).Detail);
    }

    [Fact]
    public void KernelShares_FailClosed_WhenAHostLimitIsTooLowAndCannotBeRaised_OrNsenterIsMissing()
    {
        HostKernelSetting[] low = [new("/proc/sys/fs/inotify/max_user_instances", 1_281_024, 128), new("/proc/sys/kernel/pty/max", 641_024, 1_000_000)];

        var stuck = HostChecks.KernelShares(low, 10_000, _ => false, "/usr/bin/nsenter");
        Assert.False(stuck.Ok);
        Assert.Contains("fs.inotify.max_user_instances is 128", stuck.Detail);
        Assert.Contains("sysctl -w fs.inotify.max_user_instances=1281024", stuck.Fix);

        var raisable = HostChecks.KernelShares(low, 10_000, _ => true, "/usr/bin/nsenter");
        Assert.True(raisable.Ok);
        Assert.Contains("raised to 1281024 at start", raisable.Detail);

        Assert.False(HostChecks.KernelShares(low, 10_000, _ => true, null).Ok);
    }

    [Fact]
    public void Seccomp_IsThereWhenProcStatusHasTheField()
    {
        Assert.True(HostChecks.Seccomp("Name:\thutch\nSeccomp:\t0\nSeccomp_filters:\t0\n").Ok);
        Assert.False(HostChecks.Seccomp("Name:\thutch\n").Ok);
        Assert.False(HostChecks.Seccomp(null).Ok);
    }

    [Theory]
    [InlineData("6.1.0-18-amd64", "6.1.0")]
    [InlineData("5.6", "5.6")]
    [InlineData("6.18.44-fc-v595", "6.18.44")]
    [InlineData("5.15.0-generic\n", "5.15.0")]
    [InlineData("junk", null)]
    public void KernelVersions_AreParsedFromTheRelease(string release, string? expected) =>
        Assert.Equal(expected is null ? null : Version.Parse(expected), HostChecks.ParseKernelVersion(release.Trim()));

    [Fact]
    public void Openat2_NeedsKernel56_AndAWorkingSyscall()
    {
        Assert.True(HostChecks.Openat2("6.1.0-18-amd64\n", () => 0).Ok);
        Assert.False(HostChecks.Openat2("5.4.0-150-generic", () => 0).Ok);
        var refused = HostChecks.Openat2("6.1.0", () => 38);
        Assert.False(refused.Ok);
        Assert.Contains("errno 38", refused.Detail);
    }

    [Fact]
    public void Openat2_WorksOnThisHost() =>
        Assert.Equal(0, Hutch.Linux.Interop.KernelProbes.Openat2());

    [Fact]
    public void Agent_MustExistAndBeExecutable()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Assert.Contains("chmod", HostChecks.Agent(file).Fix);
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            Assert.True(HostChecks.Agent(file).Ok);
            Assert.False(HostChecks.Agent(file + ".missing").Ok);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void DataDir_ThatDoesNotExistYet_IsFine_WhenItCanBeCreated_AndIsNotCreated()
    {
        var parent = Directory.CreateTempSubdirectory("hutch-doctor-").FullName;
        try
        {
            var dataDir = Path.Join(parent, "a", "b");

            var check = HostChecks.DataDir(dataDir);

            Assert.True(check.Ok, check.Detail);
            Assert.False(Directory.Exists(Path.Join(parent, "a")));
            Assert.Empty(Directory.EnumerateFileSystemEntries(parent));
        }
        finally
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public void Render_PrintsOneLinePerCheck_WithTheFixForFailures()
    {
        var text = DoctorCommand.Render([
            DoctorCheck.Pass("runtime", "runc version 1.1.5"),
            DoctorCheck.Fail("openat2", "kernel 5.4", "upgrade the kernel"),
        ]);

        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("ok    runtime  runc version 1.1.5", lines[0]);
        Assert.Equal("FAIL  openat2  kernel 5.4 → upgrade the kernel", lines[1]);
        Assert.Contains("1 check(s) failed", lines[2]);
    }
}
