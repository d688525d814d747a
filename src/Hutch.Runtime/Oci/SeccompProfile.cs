using System.Text.Json.Nodes;
using static Hutch.Linux.Interop.Errno;

namespace Hutch.Runtime.Oci;

/// <summary>
/// The seccomp deny list of every sandbox (security invariant 2). Default allow, and EPERM for calls
/// an agent's workload never needs but an escape would: mounting, namespaces, keyrings, BPF,
/// ptrace and cross-process memory access, kernel modules and kexec, perf, io_uring, and raw
/// handle opens. clone is refused only when it asks for a new namespace; clone3 (whose flags live in
/// memory seccomp cannot read) answers ENOSYS so libc falls back to clone, where the flags are seen.
/// Sockets: only the families a workload needs (see <see cref="AllowedSocketFamilies"/>); a network
/// namespace does not cover every family (AF_VSOCK reaches the hypervisor and the host's vsock ports).
/// Names the installed libseccomp does not know are skipped by runc.
/// </summary>
public static class SeccompProfile
{

    /// <summary>
    /// The socket families a sandbox may open: AF_UNIX (1), AF_INET (2), AF_INET6 (10), and AF_NETLINK
    /// (16) with the route protocol only (glibc's getaddrinfo and `ip` read addresses through it).
    /// Every other family, AF_VSOCK, AF_PACKET, AF_ALG, AF_KEY and the rest, answers EAFNOSUPPORT, which
    /// programs read as "not available here".
    /// </summary>
    public static readonly int[] AllowedSocketFamilies = [1, 2, 10, 16];

    /// <summary>AF_NETLINK and its one allowed protocol, NETLINK_ROUTE.</summary>
    private const int AfNetlink = 16, NetlinkRoute = 0;

    /// <summary>
    /// One past the highest family any kernel we know defines (AF_MAX is 46 on 6.x): families below it
    /// are refused one by one, and everything from it up by one rule, so a family a newer kernel adds is
    /// refused too. Seccomp compares the 64-bit register, so a value with high bits set (which the
    /// kernel would truncate to an int) lands in the "from it up" rule: it fails closed.
    /// </summary>
    private const int FirstUnknownFamily = 46;

    public static readonly string[] DeniedSyscalls =
    [
        "mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig",
        "fsmount", "fspick", "mount_setattr",
        "unshare", "setns",
        "keyctl", "add_key", "request_key",
        "bpf", "userfaultfd", "perf_event_open",
        "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
        "init_module", "finit_module", "delete_module", "create_module", "kexec_load", "kexec_file_load",
        "io_uring_setup", "io_uring_enter", "io_uring_register",
        "open_by_handle_at", "name_to_handle_at",
        "swapon", "swapoff", "reboot", "acct", "syslog", "quotactl", "lookup_dcookie", "nfsservctl", "uselib",
        "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "iopl", "ioperm", "vhangup",
    ];

    /// <summary>CLONE_NEW* flags (linux/sched.h) refused in clone's first argument.</summary>
    public static readonly ulong[] NamespaceCloneFlags =
    [
        0x00020000, // CLONE_NEWNS
        0x02000000, // CLONE_NEWCGROUP
        0x04000000, // CLONE_NEWUTS
        0x08000000, // CLONE_NEWIPC
        0x10000000, // CLONE_NEWUSER
        0x20000000, // CLONE_NEWPID
        0x40000000, // CLONE_NEWNET
        0x00000080, // CLONE_NEWTIME
    ];

    /// <summary>
    /// btrfs ioctls that make a subvolume (linux/btrfs.h: SNAP_CREATE, SNAP_CREATE_V2, SUBVOL_CREATE,
    /// SUBVOL_CREATE_V2). Any user may call them, and a new subvolume has a qgroup of its own, outside
    /// the workspace's disk quota: refused, or a sandbox could write past its quota.
    /// </summary>
    public static readonly ulong[] SubvolumeIoctls = [0x50009401, 0x50009417, 0x5000940e, 0x50009418];

    public static JsonObject Build()
    {
        var rules = new JsonArray
        {
            Refuse(EPERM, DeniedSyscalls),
            Refuse(ENOSYS, ["clone3"]),
        };
        // One rule per flag: seccomp can only test (arg & mask) == value, and rules for one call are OR-ed.
        foreach (var flag in NamespaceCloneFlags)
        {
            rules.Add(Refuse(EPERM, ["clone"], Arg(0, flag, "SCMP_CMP_MASKED_EQ", flag)));
        }
        // ioctl's request is an unsigned int: only its low 32 bits are compared, so high bits set by a
        // raw syscall cannot slip past.
        foreach (var request in SubvolumeIoctls)
        {
            rules.Add(Refuse(EPERM, ["ioctl"], Arg(1, 0xffffffffUL, "SCMP_CMP_MASKED_EQ", request)));
        }
        AddSocketFamilyRules(rules);
        return new JsonObject
        {
            ["defaultAction"] = "SCMP_ACT_ALLOW",
            ["architectures"] = new JsonArray("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"),
            ["syscalls"] = rules,
        };
    }

    /// <summary>
    /// Rules for one call are OR-ed and one rule cannot compare an argument twice, so "every family
    /// but these" is written as one EQ rule per refused family plus one GE rule for the rest.
    /// </summary>
    private static void AddSocketFamilyRules(JsonArray rules)
    {
        for (var family = 0; family < FirstUnknownFamily; family++)
        {
            if (!AllowedSocketFamilies.Contains(family))
            {
                rules.Add(Refuse(EAFNOSUPPORT, ["socket"], Arg(0, (ulong)family, "SCMP_CMP_EQ")));
            }
        }
        rules.Add(Refuse(EAFNOSUPPORT, ["socket"], Arg(0, FirstUnknownFamily, "SCMP_CMP_GE")));
        rules.Add(Refuse(EAFNOSUPPORT, ["socket"], Arg(0, AfNetlink, "SCMP_CMP_EQ"), Arg(2, NetlinkRoute, "SCMP_CMP_NE")));
    }

    /// <summary>A rule that makes the named calls fail with <paramref name="errno"/> (when every given argument matches).</summary>
    private static JsonObject Refuse(int errno, string[] names, params JsonObject[] args)
    {
        var rule = new JsonObject
        {
            ["names"] = new JsonArray(names.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()),
            ["action"] = "SCMP_ACT_ERRNO",
            ["errnoRet"] = errno,
        };
        if (args.Length > 0)
        {
            rule["args"] = new JsonArray(args);
        }
        return rule;
    }

    private static JsonObject Arg(int index, ulong value, string op, ulong? valueTwo = null)
    {
        var arg = new JsonObject { ["index"] = index, ["value"] = value, ["op"] = op };
        if (valueTwo is { } two)
        {
            arg["valueTwo"] = two;
        }
        return arg;
    }
}
