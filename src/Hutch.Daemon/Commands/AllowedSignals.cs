using Hutch.Protocol.Api;

namespace Hutch.Daemon.Commands;

/// <summary>The signals a client may send to its processes, by name ("SIGINT" or "INT").</summary>
internal static class AllowedSignals
{
    private static readonly Dictionary<string, int> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["SIGHUP"] = 1, ["SIGINT"] = 2, ["SIGQUIT"] = 3, ["SIGKILL"] = 9, ["SIGUSR1"] = 10, ["SIGUSR2"] = 12,
        ["SIGTERM"] = 15, ["SIGCONT"] = 18, ["SIGSTOP"] = 19, ["SIGTSTP"] = 20, ["SIGWINCH"] = 28,
    };

    public static int Parse(string? signal)
    {
        var name = signal is null ? "" : signal.StartsWith("SIG", StringComparison.OrdinalIgnoreCase) ? signal : "SIG" + signal;
        return ByName.TryGetValue(name, out var number)
            ? number
            : throw new HutchException(ErrorCodes.InvalidSignal,
                $"The signal '{signal}' is not allowed. Use one of {string.Join(", ", ByName.Keys)}.");
    }
}
