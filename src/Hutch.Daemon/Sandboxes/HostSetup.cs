using Hutch.Runtime.Limits;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// What the host must give before any sandbox starts: the agent binary in the data dir, the kernel
/// counters' shares for every sandbox (fail closed: no start without them), and a daemon the OOM
/// killer takes after its sandboxes.
/// </summary>
public static class HostSetup
{
    /// <summary>The daemon's oom_score_adj: below every sandbox's floor, so the host's OOM killer takes sandboxes first.</summary>
    public const int DaemonOomScoreAdj = -900;

    /// <summary>
    /// Copies the agent binary into the data dir, so every sandbox mounts one stable file that the
    /// runtime can reach whatever the build tree's permissions, and a rebuild never changes a running sandbox's init.
    /// </summary>
    public static void InstallAgent(HutchOptions options, SandboxPaths paths)
    {
        var source = new FileInfo(options.AgentPath);
        if (!source.Exists)
        {
            throw new HutchException(ErrorCodes.RuntimeUnavailable, $"The sandbox agent binary is missing at {options.AgentPath}. Build it with ./hutch (or set HUTCH_AGENT to its path).");
        }
        var target = new FileInfo(paths.AgentBinary);
        if (target.Exists && target.Length == source.Length && target.LastWriteTimeUtc == source.LastWriteTimeUtc)
        {
            return;
        }
        var temp = target.FullName + $".{Environment.ProcessId}.tmp";
        File.Copy(source.FullName, temp, overwrite: true);
        File.SetLastWriteTimeUtc(temp, source.LastWriteTimeUtc);
        File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.Move(temp, target.FullName, overwrite: true);
    }

    /// <summary>The host settings every sandbox's share of a kernel counter relies on.</summary>
    public static void EnsureHostLimits(HutchOptions options, ILogger log)
    {
        try
        {
            foreach (var raised in HostKernelLimits.Ensure(options.SandboxCapacity))
            {
                Log.HostLimitRaised(log, raised.Name, raised.Required, options.SandboxCapacity);
            }
        }
        catch (IOException e)
        {
            throw new HutchException(ErrorCodes.RuntimeUnavailable, e.Message, e);
        }
    }

    /// <summary>
    /// Lowering it takes CAP_SYS_RESOURCE, which a daemon run inside a container may lack: then the
    /// daemon stays at 0, its sandboxes' floor, and their commands (1000) are still picked first.
    /// </summary>
    public static void ProtectFromOomKiller(ILogger log)
    {
        if (!Hutch.Linux.Processes.SetOomScoreAdj(0, DaemonOomScoreAdj))
        {
            Log.OomProtectionUnavailable(log, DaemonOomScoreAdj);
        }
    }
}
