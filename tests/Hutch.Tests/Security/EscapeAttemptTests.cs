using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Runtime.Oci;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// Attacks from inside a sandbox that must fail. Each test names the security invariant of
/// ../shared/DESIGN.md it attacks. Where it matters, the attack also runs as root inside.
/// </summary>
[Collection(DaemonCollection.Name)]
public class EscapeAttemptTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    // Invariant 1: nothing of the host is visible except what the spec names.
    [Theory]
    [InlineData("user")]
    [InlineData("root")]
    public async Task ReadHostShadowAndPlantedRootFile_Fails(string user)
    {
        var planted = $"/root/hutch-planted-{Guid.NewGuid():N}";
        await File.WriteAllTextAsync(planted, "host secret");
        try
        {
            await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: user));

            var result = await sandbox.ShAsync($"cat /etc/shadow; cat {planted}; ls /etc; ls /; ls /var 2>&1 | wc -l; echo run: $(ls -A /run) $(ls -A /run/secrets | wc -l); echo homes: $(ls -A /home) $(ls -A /root | wc -l)");

            Assert.DoesNotContain("host secret", result.Stdout);
            Assert.DoesNotContain("root:", result.Stdout.Split('\n').FirstOrDefault() ?? "");
            Assert.Contains("No such file", result.Stderr);
            var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            // /etc is the generated one: exactly these files, never the host's.
            Assert.Equal(["alternatives", "group", "hosts", "nsswitch.conf", "os-release", "passwd", "protocols", "resolv.conf", "services", "ssl"], lines.Take(10));
            // /home and /root are the sandbox's own: its user's empty home (a tmpfs), nothing of the host's.
            Assert.Contains("homes: user 0", lines);
            Assert.DoesNotContain("var", lines);
            // /run holds only the sandbox's own (empty) tmpfs for file secrets, nothing of the host's /run.
            Assert.Contains("run: secrets 0", lines);
        }
        finally
        {
            File.Delete(planted);
        }
    }

    // Invariant 1, CA store: the host's public CA store comes in read-only, and nothing else of /etc/ssl.
    // A world-readable key is planted next to it and among the host's keys: only the mount stops it.
    [Theory]
    [InlineData("user")]
    [InlineData("root")]
    public async Task ReadHostPrivateKeysOrWriteTheCaStore_Fails(string user)
    {
        var marker = $"hutch-planted-{Guid.NewGuid():N}";
        var privateDir = "/etc/ssl/private";
        var madePrivateDir = !Directory.Exists(privateDir);
        Directory.CreateDirectory(privateDir);
        string[] planted = [Path.Join(privateDir, marker + ".key"), Path.Join("/etc/ssl", marker + ".key")];
        foreach (var key in planted)
        {
            await File.WriteAllTextAsync(key, $"-----BEGIN PRIVATE KEY-----\n{marker}\n");
            File.SetUnixFileMode(key, (UnixFileMode)0b110_100_100);
        }
        try
        {
            await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: user));

            var result = await sandbox.ShAsync(
                "ls -a /etc/ssl; cat /etc/ssl/private/* /usr/lib/ssl/private/* /etc/ssl/*.key 2>/dev/null; " +
                $"grep -rl {marker} /etc /usr/lib/ssl /tmp /workspace 2>/dev/null; " +
                "touch /etc/ssl/certs/hutch-written 2>/dev/null && echo WROTE; (echo >> /etc/ssl/certs/ca-certificates.crt) 2>/dev/null && echo APPENDED; " +
                "grep ' /etc/ssl/certs ' /proc/self/mountinfo | cut -d' ' -f6 | cut -d, -f1");

            var ro = HostCaStore.Find() is not null ? "ro\n" : "";
            // hutch: the sandbox's own trust directory (its egress CA, once it holds a placeholder), certificates only.
            Assert.Equal($".\n..\ncerts\nhutch\nopenssl.cnf\n{ro}", result.Stdout);
            Assert.False(File.Exists("/etc/ssl/certs/hutch-written"));
        }
        finally
        {
            foreach (var key in planted)
            {
                File.Delete(key);
            }
            if (madePrivateDir)
            {
                Directory.Delete(privateDir);
            }
        }
    }

    [Fact]
    public async Task ListDaemonDataDir_Fails()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: "root"));

        var result = await sandbox.ShAsync($"ls {fixture.DataDir}; ls {fixture.DataDir}/sandboxes; find / -xdev -name registry.db -o -name api-key 2>/dev/null; echo end");

        Assert.Equal("end\n", result.Stdout);
    }

    [Fact]
    public async Task OtherSandboxWorkspace_IsInvisible()
    {
        await using var a = await fixture.CreateAsync();
        await using var b = await fixture.CreateAsync();
        await a.ShAsync("echo a-secret > secret.txt");

        var result = await b.ShAsync("grep -r a-secret / 2>/dev/null; ls /workspace");

        Assert.Equal("", result.Stdout);
    }

    // Invariant 2: own PID namespace, no capabilities, no_new_privs, seccomp.
    [Fact]
    public async Task SeeOrSignalHostProcess_Fails()
    {
        await using var sandbox = await fixture.CreateAsync();
        var hostPid = Environment.ProcessId;

        var result = await sandbox.ShAsync($"ls /proc | grep -c '^[0-9]'; kill -0 {hostPid} 2>&1; cat /proc/1/cmdline | tr '\\0' ' '");

        var lines = result.Stdout.Split('\n');
        Assert.True(int.Parse(lines[0]) <= 5, $"only the sandbox's own processes are visible, saw {lines[0]}");
        Assert.Contains("No such process", result.Stdout + result.Stderr);
        Assert.Contains("/.hutch/agent", result.Stdout);
    }

    [Fact]
    public async Task ProcessStatus_ShowsNoCapabilitiesNoNewPrivsAndSeccomp()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: "root"));

        var result = await sandbox.ShAsync("grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status");

        Assert.Equal("CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n", result.Stdout);
    }

    [Theory]
    [InlineData("user")]
    [InlineData("root")]
    public async Task MountOrUnshare_Fails(string user)
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: user));

        var result = await sandbox.ShAsync(
            "unshare -r true && echo UNSHARED; unshare -n true && echo UNSHARED2; mount -t tmpfs x /tmp && echo MOUNTED; " +
            "perl -e 'syscall(272, 0x10000000) == 0 and print \"UNSHARE_SYSCALL\\n\"'; echo done");

        Assert.Equal("done\n", result.Stdout);
    }

    [Fact]
    public async Task PtraceTheAgent_Fails()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: "root"));

        // ptrace(PTRACE_ATTACH=16, pid 1): refused by seccomp; /proc/1/mem and fds refused because the agent is non-dumpable.
        var result = await sandbox.ShAsync(
            "perl -e '$r = syscall(101, 16, 1, 0, 0); print \"ptrace=$r errno=\" . ($!+0) . \"\\n\"'; " +
            "cat /proc/1/environ >/dev/null 2>&1 && echo ENVIRON; readlink /proc/1/fd/0 /proc/1/fd/3 >/dev/null 2>&1 && echo FDS; head -c1 /proc/1/mem >/dev/null 2>&1 && echo MEM; echo done");

        Assert.Equal("ptrace=-1 errno=1\ndone\n", result.Stdout);
    }

    [Theory]
    [InlineData("user")]
    [InlineData("root")]
    public async Task ReachAgentControlChannel_Fails(string user)
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: user));
        var hostSocket = Path.Join(fixture.DataDir, "sandboxes", sandbox.Id, "agent.sock");
        Assert.True(File.Exists(hostSocket), "the control socket exists on the host");

        // The socket's path is not in the sandbox; its fd is held only by the non-dumpable agent; and
        // no unix socket of the sandbox's network namespace leads to it. Try all three.
        var result = await sandbox.ShAsync(
            $"test -e {hostSocket} && echo PATH; " +
            "for f in /proc/1/fd/*; do cat $f >/dev/null 2>&1 && echo FD $f; done; " +
            "perl -MSocket -e 'for (split /\\n/, `cat /proc/net/unix`) { @f = split; $p = $f[7] or next; socket(S, AF_UNIX, SOCK_STREAM, 0); connect(S, pack_sockaddr_un($p)) and print \"CONNECTED $p\\n\"; close S }'; echo done");

        Assert.Equal("done\n", result.Stdout);
    }

    [Fact]
    public async Task AgentIgnoresSignalsFromInside()
    {
        await using var sandbox = await fixture.CreateAsync();

        await sandbox.ShAsync("kill -TERM 1; kill -INT 1; kill -HUP 1; kill -KILL 1; true");
        var after = await sandbox.ShAsync("echo alive");

        Assert.Equal("alive\n", after.Stdout);
    }

    // Invariant 3: no network but loopback.
    [Fact]
    public async Task HostLoopbackServicesAndAnyRoute_AreUnreachable()
    {
        await using var sandbox = await fixture.CreateAsync();
        var port = new Uri(fixture.Daemon.Url).Port;

        // The daemon listens on the host's 127.0.0.1; the sandbox's 127.0.0.1 is its own loopback.
        // No route exists to anything else, so no packet can leave (we never send to outside addresses).
        var result = await sandbox.ShAsync(
            $"bash -c 'echo > /dev/tcp/127.0.0.1/{port}' 2>/dev/null && echo REACHED; " +
            "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; tail -n +2 /proc/net/route | wc -l; tail -n +2 /proc/net/ipv6_route 2>/dev/null | grep -v ' lo$' | wc -l");

        Assert.Equal("lo\n0\n0\n", result.Stdout);
    }

    // Invariant 5: limits enforced by cgroups and the kernel.
    [Fact]
    public async Task ForkBomb_IsHeldByPidsLimit_AndSandboxSurvives()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(Pids: 64)));

        // The bomb is started from a subshell forked before the limit is reached, and the parent then
        // only runs a builtin loop: a shell that fails to fork exits (dash: status 2, seen under load),
        // so the parent must never fork once the bomb has filled the pids limit.
        var bomb = await sandbox.ShAsync("( bomb() { bomb | bomb & }; bomb ) 2>/dev/null & while :; do :; done", timeoutMs: 3000);
        var during = await Client.GetSandboxAsync(sandbox.Id);
        // The timeout killed the bomb's whole tree: the sandbox drains back to just its agent.
        var pids = new List<int>();
        for (var i = 0; i < 50; i++)
        {
            pids.Add((await Client.GetSandboxAsync(sandbox.Id)).Usage!.Pids);
            if (pids[^1] <= 12)
            {
                break;
            }
            await Task.Delay(100);
        }
        var after = await sandbox.ShAsync("echo survived");

        Assert.True(bomb.TimedOut, $"the bomb should run until the timeout, got exit {bomb.ExitCode}");
        Assert.True(during.Usage!.Pids <= 64);
        Assert.True(pids[^1] <= 12, $"pids after the kill: {string.Join(",", pids)}");
        Assert.Equal("survived\n", after.Stdout);
    }

    [Fact]
    public async Task PidsExhausted_GivesSpawnFailedWithTheReason()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(Pids: 32)));
        // Fill the pids limit exactly, under a shell that stays: the idle sandbox's tasks (the agent's
        // threads), plus the running filler (its shell, and the agent's thread that pumps its output),
        // plus N sleepers. A shell that fails to fork would exit and free slots, so none may fail.
        var idle = (await Client.GetSandboxAsync(sandbox.Id)).Usage!.Pids;
        var sleepers = 32 - idle - 2;
        var filler = sandbox.ShAsync($"for i in $(seq 1 {sleepers}); do sleep 60 & done; wait", timeoutMs: 30_000);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await Client.GetSandboxAsync(sandbox.Id)).Usage!.Pids < 32 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var e = await Assert.ThrowsAsync<HutchApiException>(() => sandbox.ShAsync("echo one-too-many"));
        _ = filler.ContinueWith(t => t.Exception, TaskScheduler.Default); // ends with the sandbox

        Assert.Equal(ErrorCodes.SpawnFailed, e.Code);
        Assert.Contains("pids limit", e.Detail);
    }

    [Fact]
    public async Task MemoryHog_IsOomKilledAndReportedAsSuch()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(MemoryMiB: 32)));

        var result = await sandbox.ShAsync("tail /dev/zero", timeoutMs: 30_000);
        var after = await sandbox.ShAsync("echo alive");

        Assert.True(result.OomKilled, $"expected an OOM kill, got exit {result.ExitCode} signal {result.Signal}");
        Assert.True(result.Signal == "SIGKILL" || result.ExitCode == 137, "the hog (a child of sh) was SIGKILLed");
        Assert.False(result.TimedOut);
        Assert.Equal("alive\n", after.Stdout);
    }

    [Fact]
    public async Task UnderMemoryPressure_CommandsAreTheOomKillersFirstChoice_AndCannotMakeThemselvesLessSo()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: "root"));
        // Raised before the agent answers that the process started: from then on it is 1000.
        var started = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Argv: ["sleep", "100"]));

        var result = await sandbox.ShAsync(
            $"cat /proc/{started.Pid}/oom_score_adj /proc/1/oom_score_adj; (echo -1 > /proc/self/oom_score_adj) 2>/dev/null && echo LOWERED; " +
            "sh -c 'echo 0 > /proc/self/oom_score_adj && cat /proc/self/oom_score_adj'");

        Assert.Equal("1000\n0\n0\n", result.Stdout);
        var daemon = int.Parse(File.ReadAllText("/proc/self/oom_score_adj"));
        Assert.True(daemon <= 0, $"the daemon's oom_score_adj {daemon} is above its sandboxes' floor");
    }

    [Fact]
    public async Task TmpIsSizeCapped()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(TmpMiB: 4)));

        var result = await sandbox.ShAsync("head -c 10000000 /dev/zero > /tmp/big; echo rc=$?; stat -c %s /tmp/big");

        Assert.True(result.Stdout.StartsWith("rc=1\n", StringComparison.Ordinal), result.Stdout + result.Stderr);
        Assert.True(long.Parse(result.Stdout.Split('\n')[1]) <= 4 << 20);
    }

    [Fact]
    public async Task SystemDirectories_AreReadOnly_AndWorkspaceIsNosuid()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: "root"));

        var result = await sandbox.ShAsync("touch /usr/x /etc/x /x 2>/dev/null && echo WROTE; grep ' /workspace ' /proc/mounts | grep -c nosuid");

        Assert.Equal("1\n", result.Stdout);
    }
}
