using System.Globalization;
using System.Text.Json.Nodes;
using Hutch.Runtime.Limits;

namespace Hutch.Runtime.Oci;

/// <summary>
/// Writes the OCI runtime spec (config.json, runtime-spec 1.0) of one sandbox. The root is a shared,
/// read-only skeleton directory; the host's /usr comes in read-only, /etc is generated with the host's
/// public CA store (/etc/ssl/certs) read-only in it, /workspace is the only writable host directory,
/// /tmp, /dev/shm, the user's home and /run/secrets are size-capped tmpfs. Nothing else of the host is mounted: no /sys, /var, /run,
/// /home, /root, /etc/ssl/private or Hutch's data dir (security invariant 1).
/// </summary>
public static class OciSpecBuilder
{

    private static readonly string[] MaskedPaths =
    [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/proc/sysvipc",
    ];

    private static readonly string[] ReadonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

    /// <summary>The oom_score_adj of each sandbox's agent, and the lowest any of its commands can reach.</summary>
    public const int SandboxOomScoreAdjFloor = 0;

    public static JsonObject Build(SandboxSpec spec)
    {
        return new JsonObject
        {
            ["ociVersion"] = "1.0.2",
            ["hostname"] = spec.Id,
            // A template's root is the sandbox's own overlay (writable, its changes on its quota); the
            // host's shared skeleton is read-only.
            ["root"] = new JsonObject { ["path"] = spec.RootfsDir, ["readonly"] = spec.TemplateRoot is null },
            ["process"] = new JsonObject
            {
                ["terminal"] = false,
                ["user"] = new JsonObject { ["uid"] = spec.Uid, ["gid"] = spec.Uid },
                ["args"] = AgentArgs(spec),
                ["env"] = new JsonArray("PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/workspace", $"HUTCH_SANDBOX_ID={spec.Id}"),
                ["cwd"] = "/workspace",
                // No capabilities at all, in every set, even for root inside; except root in a
                // template's root, which gets what installing packages takes (RootCapabilities).
                ["capabilities"] = Capabilities(spec.TemplateRoot is not null && spec.Uid == 0 ? RootCapabilities : []),
                ["noNewPrivileges"] = true,
                // The sandbox's floor: a runtime with CAP_SYS_RESOURCE writes it as the agent's minimum,
                // so no command can make itself less likely to be OOM-killed than the agent (commands
                // start at 1000; the daemon protects itself below this).
                ["oomScoreAdj"] = SandboxOomScoreAdjFloor,
                // Each sandbox's bound on the rlimit counters; in the host's namespace they still add up
                // against one ceiling, the runtime's own limits (see KernelShares and SECURITY.md).
                ["rlimits"] = new JsonArray(
                    Rlimit("RLIMIT_SIGPENDING", KernelShares.PendingSignals),
                    Rlimit("RLIMIT_MSGQUEUE", KernelShares.MessageQueueBytes),
                    Rlimit("RLIMIT_MEMLOCK", KernelShares.LockedMemoryBytes)),
            },
            ["mounts"] = Mounts(spec),
            ["linux"] = new JsonObject
            {
                ["namespaces"] = new JsonArray(
                    Ns("pid"), Ns("network"), Ns("ipc"), Ns("uts"), Ns("mount"), Ns("user"), Ns("cgroup")),
                ["uidMappings"] = new JsonArray(IdMap(spec.HostIdBase)),
                ["gidMappings"] = new JsonArray(IdMap(spec.HostIdBase)),
                ["cgroupsPath"] = spec.CgroupPath,
                ["resources"] = Resources(spec),
                ["seccomp"] = SeccompProfile.Build(),
                ["maskedPaths"] = new JsonArray(MaskedPaths.Select(p => (JsonNode)JsonValue.Create(p)).ToArray()),
                ["readonlyPaths"] = new JsonArray(ReadonlyPaths.Select(p => (JsonNode)JsonValue.Create(p)).ToArray()),
            },
        };
    }

    /// <summary>
    /// What root inside a template's root may do, as Docker's default set allows, so that apt-get and
    /// dpkg work (chown to package users, apt's drop to _apt, setgid files made without the bit):
    /// all of it only over what the sandbox's own user namespace owns (its files, its processes);
    /// over anything of the host (ids it does not map) none of them count. No CAP_SYS_ADMIN,
    /// CAP_NET_ADMIN, CAP_SYS_PTRACE, CAP_MKNOD or CAP_SETFCAP; no_new_privs and the seccomp list stay.
    /// </summary>
    public static readonly string[] RootCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    ];

    private static JsonObject Capabilities(string[] granted)
    {
        JsonArray Set() => new(granted.Select(c => (JsonNode)JsonValue.Create(c)).ToArray());
        // Not ambient: a program root starts keeps them by root's own exec rule; one run as another
        // user (su, apt's _apt) loses them, as it would outside.
        return new JsonObject
        {
            ["bounding"] = Set(), ["effective"] = Set(), ["inheritable"] = new JsonArray(), ["permitted"] = Set(), ["ambient"] = new JsonArray(),
        };
    }

    private static JsonArray AgentArgs(SandboxSpec spec) => spec.TemplateRoot is null
        ? new JsonArray(SandboxSpec.AgentPathInside, "--records-fd", "4")
        : new JsonArray(AgentLoader.LoaderInside, "--library-path", AgentLoader.LibraryDirInside, SandboxSpec.AgentPathInside, "--records-fd", "4");

    private static JsonObject Resources(SandboxSpec spec)
    {
        var resources = new JsonObject
        {
            ["devices"] = new JsonArray(new JsonObject { ["allow"] = false, ["access"] = "rwm" }),
            // swap = memory: no swap beyond the limit, so a hog meets the OOM killer, not the disk.
            ["memory"] = new JsonObject { ["limit"] = spec.MemoryBytes, ["swap"] = spec.MemoryBytes },
            ["pids"] = new JsonObject { ["limit"] = spec.Pids },
            ["cpu"] = new JsonObject
            {
                ["period"] = 100_000,
                ["quota"] = (long)Math.Round(spec.Cpus * 100_000),
            },
        };
        if (spec.BlockIo is { } io)
        {
            resources["blockIO"] = BlockIo(io);
        }
        return resources;
    }

    /// <summary>linux.resources.blockIO: a weight, and per-device throttles on the workspace disk (runtime-spec config-linux.md).</summary>
    private static JsonObject BlockIo(BlockIoLimits io)
    {
        var blockIo = new JsonObject();
        if (io.Weight is { } weight)
        {
            blockIo["weight"] = weight;
        }
        var numbers = io.Device.Split(':');
        var (major, minor) = (long.Parse(numbers[0], CultureInfo.InvariantCulture), long.Parse(numbers[1], CultureInfo.InvariantCulture));
        foreach (var (key, rate) in new[]
        {
            ("throttleReadBpsDevice", io.ReadBps), ("throttleWriteBpsDevice", io.WriteBps),
            ("throttleReadIOPSDevice", io.ReadIops), ("throttleWriteIOPSDevice", io.WriteIops),
        })
        {
            if (rate is { } r)
            {
                blockIo[key] = new JsonArray(new JsonObject { ["major"] = major, ["minor"] = minor, ["rate"] = r });
            }
        }
        return blockIo;
    }

    private static JsonArray Mounts(SandboxSpec spec)
    {
        var tmpSize = spec.TmpBytes.ToString(CultureInfo.InvariantCulture);
        var mounts = new List<JsonNode>
        {
            Mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
            Mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
            // max=: the sandbox's own share of the host's kernel.pty.max, which every devpts instance draws from.
            Mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                $"max={KernelShares.Ptys.ToString(CultureInfo.InvariantCulture)}"),
            Mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
        };
        if (spec.TemplateRoot is { } loader)
        {
            // The template's own /usr and /etc, but the names the sandbox resolves are Hutch's: its
            // resolver (docs/network.md) and localhost. Files onto files of the skeleton layer.
            mounts.Add(Mount("/etc/resolv.conf", "bind", Path.Join(spec.EtcDir, "resolv.conf"), "bind", "ro", "nosuid", "nodev", "noexec"));
            mounts.Add(Mount("/etc/hosts", "bind", Path.Join(spec.EtcDir, "hosts"), "bind", "ro", "nosuid", "nodev", "noexec"));
            mounts.Add(Mount(AgentLoader.LoaderInside, "bind", loader.Loader, "bind", "ro", "nosuid", "nodev"));
            foreach (var library in loader.Libraries)
            {
                mounts.Add(Mount($"{AgentLoader.LibraryDirInside}/{Path.GetFileName(library)}", "bind", library, "bind", "ro", "nosuid", "nodev"));
            }
        }
        else
        {
            mounts.Add(Mount("/usr", "bind", "/usr", "bind", "ro", "nosuid", "nodev"));
            mounts.Add(Mount("/etc", "bind", spec.EtcDir, "bind", "ro", "nosuid", "nodev", "noexec"));
        }
        if (spec.TemplateRoot is null && spec.CaStoreDir is { } caStore)
        {
            // After /etc, onto the mount point RootfsLayout made in it. "bind", not "rbind": only this
            // directory, nothing mounted below it; never /etc/ssl, whose private/ holds the host's keys.
            mounts.Add(Mount(HostCaStore.CertsDir, "bind", caStore, "bind", "ro", "nosuid", "nodev", "noexec"));
        }
        if (spec.TrustDir is { } trust)
        {
            // Certificates only, written by the daemon; the CA's key never leaves the daemon.
            mounts.Add(Mount(HostCaStore.SandboxTrustDir, "bind", trust, "bind", "ro", "nosuid", "nodev", "noexec"));
        }
        mounts.Add(Mount(SandboxSpec.AgentPathInside, "bind", spec.AgentPath, "bind", "ro", "nosuid", "nodev"));
        mounts.Add(Mount("/tmp", "tmpfs", "tmpfs", "nosuid", "nodev", "mode=1777", $"size={tmpSize}"));
        // The user's home: writable, capped like /tmp (its pages count as the sandbox's memory) and
        // gone with the sandbox. A tmpfs rather than a directory on the workspace volume because it
        // is the same for a caller's own workspace (`run --workspace`, on no volume or quota of ours)
        // and needs no cleanup. Its owner is the user inside (the mount is made in the sandbox's user namespace).
        var uid = spec.Uid.ToString(CultureInfo.InvariantCulture);
        mounts.Add(Mount(spec.Home, "tmpfs", "tmpfs", "nosuid", "nodev", "mode=0700", $"uid={uid}", $"gid={uid}", $"size={tmpSize}"));
        mounts.Add(Mount("/workspace", "bind", spec.WorkspaceDir, "bind", "rw", "nosuid", "nodev"));
        // File secrets (docs/secrets.md): memory only, never the host's disk; an empty tmpfs costs
        // nothing, so every sandbox has it, pooled ones included. The agent writes there as the
        // user, so the directory is the user's (0700: nobody else inside reads a value).
        mounts.Add(Mount(Hutch.Protocol.Api.SecretKinds.FileDir, "tmpfs", "tmpfs", "nosuid", "nodev", "noexec", "mode=0700", $"uid={uid}", $"gid={uid}", "size=4m"));
        if (spec.TemplateRoot is null)
        {
            // The host's root is read-only and shared: a bundle's own path can only be made in a
            // small tmpfs of the sandbox's own over /opt or /mnt (mount points of the skeleton).
            foreach (var top in spec.PropagatedMounts.Select(m => TopDirectory(m.Destination)).Where(t => t is "/opt" or "/mnt").Distinct(StringComparer.Ordinal))
            {
                mounts.Add(Mount(top, "tmpfs", "tmpfs", "nosuid", "nodev", "noexec", "mode=755", "size=64k"));
            }
        }
        foreach (var propagated in spec.PropagatedMounts)
        {
            // rbind of a host directory under a shared mount; rslave: mounts the daemon makes below it
            // on the host come in (runc's default rootfs propagation, rslave, keeps them flowing), while
            // nothing the sandbox does goes out (it cannot mount anyway). ro: the directory itself;
            // each bundle mount is read-only on its own, and locked so inside the sandbox's user namespace.
            mounts.Add(Mount(propagated.Destination, "bind", propagated.Source, "rbind", "rslave", "ro", "nosuid", "nodev"));
        }
        return new JsonArray(mounts.ToArray());
    }

    private static string TopDirectory(string path) => path.IndexOf('/', 1) is var slash and > 0 ? path[..slash] : path;

    private static JsonObject Mount(string destination, string type, string source, params string[] options) => new()
    {
        ["destination"] = destination,
        ["type"] = type,
        ["source"] = source,
        ["options"] = new JsonArray(options.Select(o => (JsonNode)JsonValue.Create(o)).ToArray()),
    };

    private static JsonObject Rlimit(string type, long value) => new() { ["type"] = type, ["hard"] = value, ["soft"] = value };

    private static JsonObject Ns(string type) => new() { ["type"] = type };

    private static JsonObject IdMap(int hostBase) => new()
    {
        ["containerID"] = 0, ["hostID"] = hostBase, ["size"] = SandboxSpec.IdRangeSize,
    };
}
