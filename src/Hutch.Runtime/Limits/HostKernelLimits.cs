using System.Globalization;

namespace Hutch.Runtime.Limits;

/// <summary>One host sysctl the sandboxes' shares rely on: its /proc/sys path, what it is, and what it needs to be at least.</summary>
public sealed record HostKernelSetting(string Path, long Required, long? Actual)
{
    /// <summary>The sysctl's dotted name (fs.inotify.max_user_instances).</summary>
    public string Name => Path["/proc/sys/".Length..].Replace('/', '.');

    public bool Ok => Actual >= Required;
}

/// <summary>
/// The host-wide limits that every sandbox's share of a kernel counter is charged against as well
/// (<see cref="KernelShares"/>): root's inotify counts in the host's user namespace, and
/// the pseudo-terminals of all devpts instances. They must hold every sandbox's full share, up to the
/// daemon's maximum number of sandboxes, plus a reserve for the host's own programs (the daemon among
/// them), so that no sandbox can take what another sandbox or the host needs.
/// </summary>
public static class HostKernelLimits
{
    /// <summary>What root's own programs on the host keep beyond every sandbox's share.</summary>
    public const int InotifyInstancesReserve = 1_024;
    public const int InotifyWatchesReserve = 262_144;

    /// <summary>The settings needed for <paramref name="maxSandboxes"/> sandboxes, each with what the host has now (null: missing).</summary>
    public static IReadOnlyList<HostKernelSetting> Required(int maxSandboxes)
    {
        // kernel.pty.reserve already keeps ptys for the host's own devpts instance: others get max - reserve.
        var ptyReserve = Read("/proc/sys/kernel/pty/reserve") ?? 1024;
        return
        [
            Setting("/proc/sys/fs/inotify/max_user_instances", (long)maxSandboxes * KernelShares.InotifyInstances + InotifyInstancesReserve),
            Setting("/proc/sys/fs/inotify/max_user_watches", (long)maxSandboxes * KernelShares.InotifyWatches + InotifyWatchesReserve),
            Setting("/proc/sys/kernel/pty/max", (long)maxSandboxes * KernelShares.Ptys + ptyReserve),
        ];
    }

    /// <summary>
    /// Raises every setting that is below what <paramref name="maxSandboxes"/> need (never lowers one)
    /// and returns what it changed. Needs root; throws when a setting cannot be raised, because then a
    /// sandbox could starve the others (fail closed).
    /// </summary>
    public static IReadOnlyList<HostKernelSetting> Ensure(int maxSandboxes)
    {
        var changed = new List<HostKernelSetting>();
        foreach (var setting in Required(maxSandboxes))
        {
            if (setting.Ok)
            {
                continue;
            }
            try
            {
                File.WriteAllText(setting.Path, setting.Required.ToString(CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"{setting.Name} is {setting.Actual?.ToString(CultureInfo.InvariantCulture) ?? "missing"} and could not be raised to "
                    + $"{setting.Required} ({e.Message}); run as root, or set it yourself (sysctl -w {setting.Name}={setting.Required}), or lower HUTCH_MAX_SANDBOXES", e);
            }
            changed.Add(setting with { Actual = Read(setting.Path) });
        }
        return changed;
    }

    private static HostKernelSetting Setting(string path, long required) => new(path, required, Read(path));

    private static long? Read(string path)
    {
        try
        {
            return long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
