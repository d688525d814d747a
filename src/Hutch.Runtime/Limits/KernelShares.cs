using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Hutch.Runtime.Limits;

/// <summary>
/// Each sandbox's own bounded share of the kernel counters that Linux charges to whoever owns a user
/// namespace. The runtime runs as root, so every sandbox's inotify instances and watches, fanotify
/// groups and marks are also counted against root in the host's namespace: without a share of its own,
/// one sandbox that takes them all makes them fail in every other sandbox and for root on the host
/// (the daemon's own log followers use inotify). The same holds for pseudo-terminals, whose devpts
/// instances share the host's `kernel.pty.max` (a share is the devpts `max=` option, see
/// <see cref="Oci.OciSpecBuilder"/>). The rlimit counters (pending signals, message queue bytes,
/// locked memory) are bounded per sandbox by the rlimits its processes get, but still add up in the
/// host's namespace against the runtime's own limits, which only CAP_SYS_RESOURCE could lift: the
/// whole fix is a user namespace owned by each sandbox's own host uid (SECURITY.md, known limits).
/// </summary>
public static class KernelShares
{
    public const int InotifyInstances = 128;
    public const int InotifyWatches = 65_536;
    public const int Ptys = 64;
    public const long PendingSignals = 1_024;
    public const long MessageQueueBytes = 102_400; // one queue of the default size (10 messages of 8 KiB)
    public const long LockedMemoryBytes = 8L << 20;

    /// <summary>
    /// The user.* sysctls written in each sandbox's own user namespace (user_namespaces(7): each
    /// namespace has its own /proc/sys/user, and a charge must fit every level up to the host). The
    /// namespace counts are 0: the runtime made every namespace a sandbox has, and seccomp already
    /// refuses making more; this holds even if a filter were bypassed.
    /// </summary>
    public static readonly IReadOnlyList<(string Name, long Value, bool Required)> UserNamespaceLimits =
    [
        ("max_inotify_instances", InotifyInstances, true),
        ("max_inotify_watches", InotifyWatches, true),
        // No fanotify at all (unprivileged since Linux 5.13): no workload needs it, and its host-level
        // limits (user.max_fanotify_*) can only be raised with CAP_SYS_RESOURCE.
        ("max_fanotify_groups", 0, false),
        ("max_fanotify_marks", 0, false),
        ("max_user_namespaces", 0, true),
        ("max_mnt_namespaces", 0, true),
        ("max_pid_namespaces", 0, true),
        ("max_net_namespaces", 0, true),
        ("max_ipc_namespaces", 0, true),
        ("max_uts_namespaces", 0, true),
        ("max_cgroup_namespaces", 0, true),
        ("max_time_namespaces", 0, false), // Linux 5.6
    ];

    private static readonly TimeSpan ApplyBudget = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Writes <see cref="UserNamespaceLimits"/> in the user namespace of the sandbox whose init is
    /// <paramref name="initPid"/>. A multithreaded process cannot setns(2) into a user namespace, so a
    /// short-lived nsenter(1) does it: entering from the host's root and becoming the namespace's uid 0
    /// (without that, exec would drop the capabilities setns gave), its shell holds CAP_SYS_RESOURCE
    /// there, which is what writing these files takes. The sandbox's own processes have no capability
    /// and cannot raise them back. Called before any command of the sandbox runs; throws when any write fails.
    /// </summary>
    public static async Task ApplyAsync(int initPid, CancellationToken cancellationToken)
    {
        var script = new StringBuilder("set -e; cd /proc/sys/user");
        foreach (var (name, value, required) in UserNamespaceLimits)
        {
            var write = string.Create(CultureInfo.InvariantCulture, $"echo {value} > {name}");
            script.Append(required ? $"; {write}" : $"; if [ -e {name} ]; then {write}; fi");
        }
        var psi = new ProcessStartInfo("nsenter")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var arg in (string[])["--target", initPid.ToString(CultureInfo.InvariantCulture), "--user", "--", "/bin/sh", "-c", script.ToString()])
        {
            psi.ArgumentList.Add(arg);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ApplyBudget);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new IOException("nsenter could not be started");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new IOException($"nsenter (util-linux) could not be started: {e.Message}; install it: apt-get install util-linux", e);
        }
        using (process)
        {
            var output = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                throw new IOException($"the kernel counter limits of the sandbox (init pid {initPid}) could not be set: {(await output.ConfigureAwait(false)).Trim()}");
            }
        }
    }
}
