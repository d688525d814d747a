using System.Globalization;
using Hutch.Linux;

namespace Hutch.Daemon.Registry;

/// <summary>
/// When a sandbox's TTL ends, on the boot clock: setting the wall clock back or forward neither
/// stretches nor cuts it, and a restarted daemon reads the same deadline (stored as "bootid:ms").
/// After a reboot the sandbox's processes are gone anyway, and its TTL counts as passed.
/// </summary>
public readonly record struct TtlDeadline(string BootId, long BootMilliseconds)
{
    public static TtlDeadline After(long seconds) => new(BootClock.BootId, BootClock.NowMilliseconds + seconds * 1000);

    public TimeSpan Remaining =>
        BootId == BootClock.BootId ? TimeSpan.FromMilliseconds(Math.Max(0, BootMilliseconds - BootClock.NowMilliseconds)) : TimeSpan.Zero;

    public bool HasPassed => Remaining == TimeSpan.Zero;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{BootId}:{BootMilliseconds}");

    public static TtlDeadline? Parse(string? text) =>
        text is not null && text.LastIndexOf(':') is var colon and > 0
            && long.TryParse(text.AsSpan(colon + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms)
            ? new TtlDeadline(text[..colon], ms)
            : null;
}
