using System.Diagnostics;
using System.Runtime.InteropServices;
using Hutch.Cli.Doctor;
using Hutch.Daemon;
using Hutch.Linux.Interop;
using Hutch.Runtime.Limits;
using Hutch.Runtime.Oci;
using System.Globalization;

namespace Hutch.Cli.Engine;

/// <summary>
/// What a host needs before Hutch can isolate anything. Each check looks at the real thing (runs the
/// runtime, creates a user namespace, opens with openat2) rather than trusting a config file, and
/// fails closed: a check that cannot tell counts as failed.
/// </summary>
internal static class HostChecks
{
    private static readonly TimeSpan CommandBudget = TimeSpan.FromSeconds(5);

    public static async Task<IReadOnlyList<DoctorCheck>> RunAllAsync(HutchOptions options, CancellationToken cancellationToken) =>
    [
        await RuntimeAsync(options.Runtime, cancellationToken).ConfigureAwait(false),
        await UserNamespacesAsync(cancellationToken).ConfigureAwait(false),
        Cgroups(ReadOrNull("/proc/self/mounts"), ReadOrNull),
        Seccomp(ReadOrNull("/proc/self/status")),
        Openat2(ReadOrNull("/proc/sys/kernel/osrelease"), KernelProbes.Openat2),
        Agent(options.AgentPath),
        DataDir(options.DataDir),
        KernelShares(HostKernelLimits.Required(options.SandboxCapacity), options.SandboxCapacity, CanWrite, FindExecutable("nsenter")),
        DiskQuotas(options.DataDir),
        BlockIo(options.DataDir),
        OomOrder(Hutch.Linux.Processes.SetOomScoreAdj(0, Hutch.Daemon.Sandboxes.HostSetup.DaemonOomScoreAdj)),
        CaStore(HostCaStore.Find()),
        await EgressAsync(cancellationToken).ConfigureAwait(false),
    ];

    /// <summary>
    /// Network egress: the capture a sandbox gets when its policy lets anything out, loaded into a
    /// scratch network namespace (nothing is sent). Without it, such a create fails with
    /// egress_unavailable and nothing leaves: sandboxes with the default policy are unaffected.
    /// </summary>
    public static async Task<DoctorCheck> EgressAsync(CancellationToken cancellationToken)
    {
        const string name = "egress";
        if (FindExecutable("nft") is null)
        {
            return DoctorCheck.Fail(name, "nft(8) is not installed: sandboxes with a network policy cannot be created", "install it: apt-get install nftables");
        }
        if (FindExecutable("unshare") is not { } unshare)
        {
            return DoctorCheck.Fail(name, "cannot try it: unshare(1) is not installed", "install it: apt-get install util-linux");
        }
        // lo up, as the OCI runtime leaves a sandbox's namespace.
        using var scratch = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(unshare, ["--net", "sh", "-c", "ip link set lo up && exec sleep 30"])
        {
            RedirectStandardError = true,
        })!;
        try
        {
            // sleep runs only once the new namespace is there with lo up: wait for that exec.
            for (var i = 0; i < 500 && !scratch.HasExited && ReadOrNull($"/proc/{scratch.Id}/comm")?.Trim() != "sleep"; i++)
            {
                await Task.Delay(10, cancellationToken).ConfigureAwait(false);
            }
            if (scratch.HasExited || ReadOrNull($"/proc/{scratch.Id}/comm")?.Trim() != "sleep")
            {
                return DoctorCheck.Fail(name, $"a scratch network namespace did not start: {(scratch.HasExited ? scratch.StandardError.ReadToEnd().Trim() : "unshare --net hung")}",
                    "run as root on a kernel with network namespaces");
            }
            using var pidfd = Hutch.Linux.NetworkNamespace.OpenProcess(scratch.Id);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            await Hutch.Runtime.Network.EgressPlumbing.ApplyAsync(pidfd, cancellationToken).ConfigureAwait(false);
            var applied = await Hutch.Runtime.Network.EgressPlumbing.IsAppliedAsync(pidfd, cancellationToken).ConfigureAwait(false);
            var loaded = watch.ElapsedMilliseconds;
            if (!applied)
            {
                return DoctorCheck.Fail(name, "the capture loaded but does not read back whole", "check that nf_tables and the nat expressions are available: modprobe nf_tables nft_redir nft_fib_inet nft_reject_inet");
            }
            var (v4, v6) = await Hutch.Runtime.Network.EgressPlumbing.ListenAsync(pidfd).ConfigureAwait(false);
            using (v4)
            using (v6)
            {
                var (tcp, udp) = await ProbeCaptureAsync(pidfd, v4, cancellationToken).ConfigureAwait(false);
                return tcp is null && udp is null
                    ? DoctorCheck.Pass(name, $"the capture loads in a scratch namespace ({loaded} ms) and holds: a TCP connection to {CaptureProbe} reached the proxy with that destination, UDP to it was refused (nothing was sent)")
                    : DoctorCheck.Fail(name, $"the capture loaded but does not hold: {tcp ?? udp}", "check that nf_tables and the nat expressions are available: modprobe nf_tables nft_redir nft_fib_inet nft_reject_inet");
            }
        }
        catch (IOException e)
        {
            return DoctorCheck.Fail(name, $"the capture could not be loaded: {e.Message}",
                "check that nf_tables and the nat expressions are available: modprobe nf_tables nft_redir nft_fib_inet nft_reject_inet");
        }
        finally
        {
            if (!scratch.HasExited)
            {
                scratch.Kill();
            }
            await scratch.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The host's public CA store, which sandboxes get read-only. Without one a sandbox runs, but no TLS
    /// client in it can verify a server, so this says so and passes: isolation does not depend on it.
    /// </summary>
    /// <summary>A documentation address (TEST-NET-1): the capture redirects it to the proxy, so nothing is ever sent to it.</summary>
    private static readonly System.Net.IPEndPoint CaptureProbe = new(System.Net.IPAddress.Parse("192.0.2.1"), 443);

    /// <summary>
    /// From inside the scratch namespace: a TCP connection out must reach the proxy's listener with its
    /// original destination (what the proxy judges), and UDP other than DNS must be refused at once.
    /// </summary>
    /// <returns>What failed for each, or nulls.</returns>
    private static async Task<(string? Tcp, string? Udp)> ProbeCaptureAsync(Microsoft.Win32.SafeHandles.SafeFileHandle netns, System.Net.Sockets.Socket listener, CancellationToken cancellationToken)
    {
        using var client = await Hutch.Linux.NetworkNamespace.CreateTcpSocketInAsync(netns).ConfigureAwait(false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        string? tcp;
        try
        {
            await client.ConnectAsync(CaptureProbe, timeout.Token).ConfigureAwait(false);
            using var accepted = await listener.AcceptAsync(timeout.Token).ConfigureAwait(false);
            var original = Hutch.Linux.NetworkNamespace.OriginalDestination(accepted);
            tcp = CaptureProbe.Equals(original) ? null : $"a connection to {CaptureProbe} reached the proxy as {original?.ToString() ?? "no original destination"}";
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException)
        {
            tcp = $"a connection to {CaptureProbe} did not reach the proxy ({e.Message})";
        }
        var udp = await Hutch.Linux.NetworkNamespace.RunInAsync(netns, () =>
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            try
            {
                socket.SendTo([0], new System.Net.IPEndPoint(CaptureProbe.Address, 9));
                return $"a UDP datagram to {CaptureProbe.Address}:9 was let through";
            }
            catch (System.Net.Sockets.SocketException)
            {
                return null; // EPERM from the reject rule
            }
        }).ConfigureAwait(false);
        return (tcp, udp);
    }

    public static DoctorCheck CaStore(string? store) => DoctorCheck.Pass("ca store", store is not null
        ? $"{store} (with {HostCaStore.Bundle}) read-only in every sandbox; the host's private keys never are"
        : $"none on this host ({HostCaStore.CertsDir}/{HostCaStore.Bundle} is missing): sandboxes get an empty {HostCaStore.CertsDir} and cannot verify TLS servers; to give them one: apt-get install ca-certificates");

    /// <summary>
    /// Who the OOM killer takes first: every command gets 1000 from the agent (raising needs no
    /// privilege, so that part always holds); the daemon lowers itself below its sandboxes' floor only
    /// with CAP_SYS_RESOURCE, which this check tries on its own process.
    /// </summary>
    public static DoctorCheck OomOrder(bool daemonCanProtectItself) => DoctorCheck.Pass("oom order", daemonCanProtectItself
        ? $"sandboxes' commands first (oom_score_adj 1000), the daemon protected ({Hutch.Daemon.Sandboxes.HostSetup.DaemonOomScoreAdj})"
        : "sandboxes' commands first (oom_score_adj 1000); the daemon stays at their floor (0): protecting it further needs CAP_SYS_RESOURCE");

    /// <summary>
    /// Each sandbox's share of the kernel counters charged to the host's root: the host limits must hold
    /// every sandbox's share (the daemon raises them at start, so a low one passes when it can be
    /// written), and nsenter must be there to set each sandbox's own share.
    /// </summary>
    public static DoctorCheck KernelShares(IReadOnlyList<HostKernelSetting> settings, int maxSandboxes, Func<string, bool> canWrite, string? nsenter)
    {
        const string name = "kernel shares";
        if (nsenter is null)
        {
            return DoctorCheck.Fail(name, "nsenter(1) is not installed: each sandbox's own inotify and namespace limits cannot be set",
                "install it: apt-get install util-linux");
        }
        var stuck = settings.Where(s => !s.Ok && !canWrite(s.Path)).ToList();
        if (stuck.Count > 0)
        {
            return DoctorCheck.Fail(name,
                string.Join("; ", stuck.Select(s => $"{s.Name} is {s.Actual?.ToString(CultureInfo.InvariantCulture) ?? "missing"}, below the {s.Required} that {maxSandboxes} sandboxes' shares need, and cannot be raised")),
                $"as root: {string.Join(" ", stuck.Select(s => $"sysctl -w {s.Name}={s.Required}"))}; or lower HUTCH_MAX_SANDBOXES");
        }
        var low = settings.Where(s => !s.Ok).Select(s => $"{s.Name} raised to {s.Required} at start").ToList();
        return DoctorCheck.Pass(name, $"room for {maxSandboxes} sandboxes' shares (inotify, ptys)" + (low.Count > 0 ? $"; {string.Join(", ", low)}" : ""));
    }

    private static bool CanWrite(string path)
    {
        try
        {
            using var _ = File.Open(path, FileMode.Open, FileAccess.Write);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Per-sandbox disk quotas on the workspaces' volume (docs/configuration.md#disk-quotas).</summary>
    public static DoctorCheck DiskQuotas(string dataDir)
    {
        const string name = "disk quotas";
        var (ok, detail) = Hutch.Files.Checkpoints.WorkspaceVolume.CheckQuotas(Path.Join(dataDir, "workspaces"));
        return ok ? DoctorCheck.Pass(name, detail) : DoctorCheck.Fail(name, detail, "without quotas one sandbox can fill the workspace volume for all; see docs/configuration.md#disk-quotas");
    }

    /// <summary>Block I/O throttling on the workspace disk (a weight is reported, not required: it needs BFQ).</summary>
    public static DoctorCheck BlockIo(string dataDir)
    {
        const string name = "block I/O limits";
        var workspaces = Path.Join(dataDir, "workspaces");
        var device = Directory.Exists(workspaces) ? Hutch.Files.Checkpoints.WorkspaceVolume.DeviceOf(workspaces) : null;
        var support = Hutch.Runtime.Cgroups.BlockIoSupport.Detect(device);
        return support.Throttle
            ? DoctorCheck.Pass(name, support.Description)
            : DoctorCheck.Fail(name, support.Description, "mount the blkio cgroup controller (v1) or enable io in cgroup.subtree_control (v2); a kernel with CONFIG_BLK_DEV_THROTTLING");
    }

    public static async Task<DoctorCheck> RuntimeAsync(string runtime, CancellationToken cancellationToken)
    {
        const string name = "runtime";
        if (FindExecutable(runtime) is not { } path)
        {
            return DoctorCheck.Fail(name, $"OCI runtime '{runtime}' not found on PATH",
                runtime == "runc" ? "install it: apt-get install runc" : $"install {runtime}, or pass --runtime / set HUTCH_RUNTIME to its full path");
        }
        var (exit, output) = await RunAsync(path, ["--version"], cancellationToken).ConfigureAwait(false);
        var firstLine = output.Split('\n', 2)[0].Trim();
        return exit == 0
            ? DoctorCheck.Pass(name, $"{firstLine} ({path})")
            : DoctorCheck.Fail(name, $"`{path} --version` failed{Describe(exit, output)}", $"reinstall it (apt-get install --reinstall {Path.GetFileName(path)}), or point --runtime / HUTCH_RUNTIME at a working runtime");
    }

    public static async Task<DoctorCheck> UserNamespacesAsync(CancellationToken cancellationToken)
    {
        const string name = "user namespaces";
        var max = ReadOrNull("/proc/sys/user/max_user_namespaces")?.Trim();
        if (max is null || !long.TryParse(max, out var count))
        {
            return DoctorCheck.Fail(name, "/proc/sys/user/max_user_namespaces is missing: the kernel has no user namespaces",
                "use a kernel built with CONFIG_USER_NS=y (every Debian kernel is)");
        }
        if (count <= 0)
        {
            return DoctorCheck.Fail(name, "user.max_user_namespaces is 0", "run: sysctl -w user.max_user_namespaces=15000 (and put it in /etc/sysctl.d/ to keep it)");
        }
        if (FindExecutable("unshare") is not { } unshare)
        {
            return DoctorCheck.Fail(name, "cannot try one: unshare(1) is not installed", "install it: apt-get install util-linux");
        }
        var (exit, output) = await RunAsync(unshare, ["--user", "true"], cancellationToken).ConfigureAwait(false);
        return exit == 0
            ? DoctorCheck.Pass(name, $"max {count}; `unshare --user true` works")
            : DoctorCheck.Fail(name, $"`unshare --user true` failed{Describe(exit, output)}",
                "allow them: sysctl -w kernel.unprivileged_userns_clone=1 and user.max_user_namespaces=15000; inside a container, run it with a seccomp profile that permits unshare/clone of user namespaces");
    }

    /// <summary>memory, pids and cpu controllers: mounted as cgroup v1 hierarchies, or enabled in a cgroup2 mount at /sys/fs/cgroup.</summary>
    public static DoctorCheck Cgroups(string? mounts, Func<string, string?> readFile)
    {
        const string name = "cgroups";
        string[] needed = ["memory", "pids", "cpu"];
        if (mounts is null)
        {
            return DoctorCheck.Fail(name, "cannot read /proc/self/mounts", "mount /proc (mount -t proc proc /proc)");
        }

        var v1 = new HashSet<string>(StringComparer.Ordinal);
        string? v2Root = null;
        foreach (var line in mounts.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // fs_spec fs_file fs_vfstype fs_mntops … (fstab(5)); v1 controllers are mount options ("rw,relatime,cpu,cpuacct").
            var fields = line.Split(' ');
            if (fields.Length < 4)
            {
                continue;
            }
            if (fields[2] == "cgroup")
            {
                v1.UnionWith(fields[3].Split(','));
            }
            else if (fields[2] == "cgroup2" && fields[1] == "/sys/fs/cgroup")
            {
                v2Root = fields[1];
            }
        }

        if (needed.All(v1.Contains))
        {
            return DoctorCheck.Pass(name, "cgroup v1 with memory, pids and cpu controllers");
        }
        if (v2Root is not null)
        {
            var available = (readFile(Path.Join(v2Root, "cgroup.controllers")) ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            var missing = needed.Where(c => !available.Contains(c)).ToArray();
            return missing.Length == 0
                ? DoctorCheck.Pass(name, "cgroup v2 with memory, pids and cpu controllers")
                : DoctorCheck.Fail(name, $"cgroup v2 lacks the {string.Join(", ", missing)} controller(s)",
                    "use a kernel with CONFIG_MEMCG, CONFIG_CGROUP_PIDS and CONFIG_CGROUP_SCHED, and make sure no cgroup v1 hierarchy holds those controllers");
        }
        var missingV1 = needed.Where(c => !v1.Contains(c)).ToArray();
        return DoctorCheck.Fail(name, $"no cgroup2 at /sys/fs/cgroup and no cgroup v1 hierarchy for {string.Join(", ", missingV1)}",
            "mount cgroup2: mount -t cgroup2 cgroup2 /sys/fs/cgroup (or boot with systemd.unified_cgroup_hierarchy=1)");
    }

    public static DoctorCheck Seccomp(string? procStatus)
    {
        const string name = "seccomp";
        var line = procStatus?.Split('\n').FirstOrDefault(l => l.StartsWith("Seccomp:", StringComparison.Ordinal));
        return line is not null
            ? DoctorCheck.Pass(name, $"supported (this process: {line.Trim()})")
            : DoctorCheck.Fail(name, "/proc/self/status has no Seccomp field: the kernel lacks seccomp",
                "use a kernel built with CONFIG_SECCOMP=y and CONFIG_SECCOMP_FILTER=y (every Debian kernel is)");
    }

    /// <summary>Kernel 5.6 or later, and the syscall really answers (a container's seccomp filter may refuse it).</summary>
    public static DoctorCheck Openat2(string? osRelease, Func<int> probe)
    {
        const string name = "openat2";
        var release = osRelease?.Trim() ?? "unknown";
        var version = ParseKernelVersion(release);
        if (version is null || version < new Version(5, 6))
        {
            return DoctorCheck.Fail(name, $"kernel {release} is older than 5.6, which added openat2", "upgrade the kernel to 5.6 or later (Debian 12 ships 6.1)");
        }
        var errno = probe();
        return errno == 0
            ? DoctorCheck.Pass(name, $"kernel {release}; openat2 with RESOLVE_NO_MAGICLINKS works")
            : DoctorCheck.Fail(name, $"kernel {release}, but openat2 failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})",
                "inside a container, allow the openat2 syscall (437) in its seccomp profile");
    }

    /// <summary>"6.1.0-18-amd64" → 6.1.0; null when it does not start with numbers.</summary>
    public static Version? ParseKernelVersion(string release)
    {
        var numeric = new string(release.TakeWhile(c => char.IsAsciiDigit(c) || c == '.').ToArray()).TrimEnd('.');
        if (numeric.Count(c => c == '.') == 0)
        {
            numeric += ".0";
        }
        return Version.TryParse(numeric, out var version) ? version : null;
    }

    public static DoctorCheck Agent(string agentPath)
    {
        const string name = "agent";
        if (!File.Exists(agentPath))
        {
            return DoctorCheck.Fail(name, $"{agentPath} does not exist",
                "build it (`./hutch` in the repository does: dotnet publish src/Hutch.Agent -c Release -o artifacts/agent) and set HUTCH_AGENT to that hutch-agent, or put hutch-agent beside hutch");
        }
        var mode = File.GetUnixFileMode(agentPath);
        return (mode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0
            ? DoctorCheck.Pass(name, agentPath)
            : DoctorCheck.Fail(name, $"{agentPath} is not executable", $"run: chmod 755 {agentPath}");
    }

    /// <summary>
    /// Writable means a file can be created in it. A missing dir is not created here (the daemon
    /// creates it with its own modes): its nearest existing parent must then let one be created.
    /// </summary>
    public static DoctorCheck DataDir(string dataDir)
    {
        const string name = "data dir";
        var fix = "run as root, or set HUTCH_DATA_DIR (or --data-dir) to a directory you own";
        dataDir = Path.GetFullPath(dataDir);
        var existing = dataDir;
        while (!Directory.Exists(existing))
        {
            if (Path.GetDirectoryName(existing) is not { } parent)
            {
                return DoctorCheck.Fail(name, $"no part of {dataDir} exists", fix);
            }
            existing = parent;
        }

        var probe = Path.Join(existing, $".hutch-doctor-{Environment.ProcessId}");
        try
        {
            Directory.CreateDirectory(probe);
            Directory.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return DoctorCheck.Fail(name, $"{existing} is not writable: {e.Message}", fix);
        }
        return DoctorCheck.Pass(name, existing == dataDir ? $"{dataDir} is writable" : $"{dataDir} does not exist yet; {existing} lets it be created");
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? FindExecutable(string program)
    {
        if (program.Contains('/'))
        {
            return File.Exists(program) ? Path.GetFullPath(program) : null;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Join(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>Runs a program with stdin closed; output is stdout then stderr. Exit -1 when it could not start or ran too long.</summary>
    private static async Task<(int Exit, string Output)> RunAsync(string path, string[] args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        try
        {
            using var process = Process.Start(start)!;
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            budget.CancelAfter(CommandBudget);
            try
            {
                await process.WaitForExitAsync(budget.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"no answer within {CommandBudget.TotalSeconds:0} s");
            }
            return (process.ExitCode, (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false)));
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    private static string Describe(int exit, string output)
    {
        var message = output.Trim().Split('\n')[^1].Trim();
        var status = exit < 0 ? "" : $" with exit status {exit}";
        return message.Length == 0 ? status : $"{status}: {message}";
    }
}
