using Hutch.Protocol.Api;

namespace Hutch.Cli;

/// <summary>What `hutch` exits with, and how a command's end becomes an exit status the shell way.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    /// <summary>A request failed (daemon error, sandbox not found, a doctor check failed).</summary>
    public const int Failure = 1;
    /// <summary>The command line was wrong.</summary>
    public const int Usage = 2;
    /// <summary>The command ran past its timeout and was killed, as timeout(1) reports it.</summary>
    public const int TimedOut = 124;
    /// <summary>Interrupted by Ctrl-C: 128 + SIGINT, as shells report it.</summary>
    public const int Interrupted = 130;
    /// <summary>Stopped by SIGTERM: 128 + 15.</summary>
    public const int Terminated = 143;
    /// <summary>hutch's stdout (or stderr) was closed by its reader (`| head`): 128 + SIGPIPE, as a shell reports a program killed by it.</summary>
    public const int OutputClosed = 141;
    /// <summary>
    /// `exec`/`run`: the command's output went past the output cap and was cut (unless --allow-truncation).
    /// Out of every shell convention: not 1-2, not 124-127 (timeout(1), the shell's not-found/not-executable),
    /// not 128+N for a Linux signal (N at most 64), not 255 (ssh's own failure).
    /// </summary>
    public const int OutputTruncated = 250;

    /// <summary>
    /// The exit status a shell would report: the command's code; 124 when it timed out (like timeout(1));
    /// 128 + the signal's number when a signal ended it (SIGKILL → 137, as bash does).
    /// </summary>
    public static int For(int? exitCode, string? signal, bool timedOut)
    {
        if (timedOut)
        {
            return TimedOut;
        }
        if (exitCode is { } code)
        {
            return code & 0xff;
        }
        return signal is null ? Failure : 128 + SignalNumber(signal);
    }

    public static int For(ExecResult result) => For(result.ExitCode, result.Signal, result.TimedOut);

    /// <summary>Linux signal numbers (signal(7), x86-64 and arm64): "SIGKILL", "KILL" or "9" → 9. Unknown names count as SIGKILL.</summary>
    public static int SignalNumber(string signal)
    {
        if (int.TryParse(signal, out var n) && n is > 0 and < 128)
        {
            return n;
        }
        var name = signal.StartsWith("SIG", StringComparison.OrdinalIgnoreCase) ? signal[3..] : signal;
        return name.ToUpperInvariant() switch
        {
            "HUP" => 1, "INT" => 2, "QUIT" => 3, "ILL" => 4, "TRAP" => 5, "ABRT" or "IOT" => 6, "BUS" => 7, "FPE" => 8,
            "KILL" => 9, "USR1" => 10, "SEGV" => 11, "USR2" => 12, "PIPE" => 13, "ALRM" => 14, "TERM" => 15,
            "STKFLT" => 16, "CHLD" => 17, "CONT" => 18, "STOP" => 19, "TSTP" => 20, "TTIN" => 21, "TTOU" => 22,
            "URG" => 23, "XCPU" => 24, "XFSZ" => 25, "VTALRM" => 26, "PROF" => 27, "WINCH" => 28, "IO" or "POLL" => 29,
            "PWR" => 30, "SYS" => 31,
            _ => 9,
        };
    }
}
