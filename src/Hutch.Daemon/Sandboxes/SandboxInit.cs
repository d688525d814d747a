using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Runtime;
using Hutch.Runtime.Oci;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// A sandbox's init, pinned: the one way features enter its namespaces (ports, egress). The pid
/// comes from the runtime's state and is pinned with a pidfd before its cgroup is checked, so a pid
/// that a host process reused is never entered.
/// </summary>
public static class SandboxInit
{
    /// <summary>A pidfd of the sandbox's init; the caller owns it.</summary>
    /// <exception cref="HutchException">sandbox_not_running when it has no init (any more).</exception>
    public static SafeFileHandle Pin(OciRuntime runtime, string id)
    {
        if (runtime.InitPid(id) is not { } pid)
        {
            throw NotRunning(id);
        }
        SafeFileHandle process;
        try
        {
            process = NetworkNamespace.OpenProcess(pid);
        }
        catch (LinuxException e) when (e.Errno == Errno.ESRCH)
        {
            throw NotRunning(id);
        }
        // After the pidfd pins the process: if the pid is in the sandbox's cgroup now, the pidfd is the sandbox's init.
        if (!OciRuntime.BelongsTo(pid, SandboxSpec.CgroupPathOf(id)))
        {
            process.Dispose();
            throw NotRunning(id);
        }
        return process;
    }

    /// <summary>The error for a sandbox whose init is gone (also what ESRCH from a pinned pidfd means).</summary>
    public static HutchException NotRunning(string id) => new(ErrorCodes.SandboxNotRunning,
        $"The sandbox {id} has no running init: its processes are gone. Delete it and create a new one.");
}
