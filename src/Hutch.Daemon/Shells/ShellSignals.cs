using Hutch.Protocol.Api;

namespace Hutch.Daemon.Shells;

/// <summary>
/// The signals a client may send to a shell, by name ("SIGINT" or "INT"): the ones a terminal
/// itself produces (Ctrl-C, hang-up) and the two that end a process. Others go through the
/// process routes, or as keys (Ctrl-Z is byte 0x1a on the terminal).
/// </summary>
internal static class ShellSignals
{
    private static readonly Dictionary<string, int> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["SIGHUP"] = 1, ["SIGINT"] = 2, ["SIGKILL"] = 9, ["SIGTERM"] = 15,
    };

    public static int Parse(string? signal)
    {
        var name = signal is null ? "" : signal.StartsWith("SIG", StringComparison.OrdinalIgnoreCase) ? signal : "SIG" + signal;
        return ByName.TryGetValue(name, out var number)
            ? number
            : throw new HutchException(ErrorCodes.InvalidSignal,
                $"The signal '{signal}' cannot be sent to a shell. Use INT (like Ctrl-C: to the command in the foreground), TERM, HUP or KILL (to the shell's whole tree).");
    }
}
