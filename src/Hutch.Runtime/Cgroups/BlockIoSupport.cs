namespace Hutch.Runtime.Cgroups;

/// <summary>
/// Which block I/O limits the runtime can set for sandboxes on the workspace disk. Throttling
/// (blkio.throttle.* on cgroup v1, io.max on v2) works on any device. A weight needs a file to
/// write (runc fails the create when it has none): blkio.weight (CFQ, gone since Linux 5.0) or
/// blkio.bfq.weight on v1, io.weight or io.bfq.weight on v2; and it only changes anything when the
/// device's scheduler is BFQ (v1) — loop devices default to none, which <see cref="Description"/> says.
/// </summary>
/// <param name="Device">"major:minor" of the workspace disk; null when there is none (then nothing can be limited, whatever the cgroups offer).</param>
/// <param name="Throttle">The cgroups can throttle bps and iops per device.</param>
/// <param name="Weight">The cgroups have a weight file runc can write.</param>
public sealed record BlockIoSupport(string? Device, bool Throttle, bool Weight, string Description)
{
    /// <summary>
    /// Looks at the cgroup files under the parent of every sandbox's cgroup (/hutch), creating that
    /// parent when missing. Without a device nothing can be throttled, whatever the cgroups offer.
    /// </summary>
    public static BlockIoSupport Detect(string? device, string cgroupRoot = "/sys/fs/cgroup")
    {
        var unified = File.Exists(Path.Join(cgroupRoot, "cgroup.controllers"));
        var parent = unified ? Path.Join(cgroupRoot, "hutch") : Path.Join(cgroupRoot, "blkio", "hutch");
        bool throttle, weight;
        try
        {
            if (unified)
            {
                var controllers = File.ReadAllText(Path.Join(cgroupRoot, "cgroup.controllers")).Split(' ', StringSplitOptions.TrimEntries);
                throttle = controllers.Contains("io");
                weight = throttle && (File.Exists(Path.Join(parent, "io.weight")) || File.Exists(Path.Join(parent, "io.bfq.weight")));
            }
            else
            {
                throttle = File.Exists(Path.Join(cgroupRoot, "blkio", "blkio.throttle.write_bps_device"));
                // Weight files exist only below the root cgroup (BFQ's are CFTYPE_NOT_ON_ROOT).
                if (throttle)
                {
                    Directory.CreateDirectory(parent);
                }
                weight = File.Exists(Path.Join(parent, "blkio.weight")) || File.Exists(Path.Join(parent, "blkio.bfq.weight"));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(device, false, false, $"the cgroup I/O controller could not be read ({e.Message}), so no I/O limits");
        }
        if (device is null)
        {
            return new(null, throttle, weight, $"no block device is known under the workspaces (not mounted yet, or a virtual file system), so no I/O limits; the cgroups offer {(throttle ? "throttling" : "no throttling")} and {(weight ? "weights" : "no weights")}");
        }
        var scheduler = Scheduler(device);
        var weightNote = !weight
            ? "no weight (no blkio.bfq.weight or blkio.weight: the kernel lacks BFQ group scheduling)"
            : scheduler is "bfq" ? "weights apply (scheduler bfq)"
            : $"weights are set but do not apply while the device's scheduler is {scheduler ?? "unknown"} (echo bfq > /sys/dev/block/{device}/queue/scheduler to make them count)";
        return new(device, throttle, weight, throttle
            ? $"device {device}: bps and iops throttling; {weightNote}"
            : $"device {device}: no throttling (the blkio/io controller is missing), {weightNote}");
    }

    /// <summary>The scheduler in use on the device ("[bfq]" in queue/scheduler), or null when unknown.</summary>
    private static string? Scheduler(string device)
    {
        try
        {
            var text = File.ReadAllText($"/sys/dev/block/{device}/queue/scheduler");
            var start = text.IndexOf('[', StringComparison.Ordinal);
            var end = text.IndexOf(']', StringComparison.Ordinal);
            return start >= 0 && end > start ? text[(start + 1)..end] : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
