namespace Hutch.Daemon.Commands;

/// <summary>
/// What this host can enforce beyond memory, pids and CPU (disk quotas on the workspace volume,
/// block I/O weight and throttling in the cgroups), the operator's defaults for it, and for each
/// thing it cannot, why (for limit_unavailable errors).
/// </summary>
public sealed record HostLimits(
    bool DiskQuotas, long DefaultDiskMiB, string NoDiskQuotas,
    bool IoWeight, int DefaultIoWeight, string NoIoWeight,
    bool IoThrottle, string NoIoThrottle)
{
    /// <summary>Nothing beyond cgroups' memory, pids and CPU (a workspace of the caller's own, outside the volume).</summary>
    public static HostLimits None(string why) => new(false, 0, why, false, 0, why, false, why);
}
