using System.Text.RegularExpressions;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Commands;

/// <summary>
/// Checks create and exec requests before anything is touched, and fills in defaults. Every refusal
/// names the field, the allowed range, and what to send instead.
/// </summary>
public static partial class RequestValidator
{
    public const long DefaultMemoryMiB = 512, MinMemoryMiB = 16, MaxMemoryMiB = 65536;
    public const int DefaultPids = 512, MinPids = 16, MaxPids = 32768;
    public const double DefaultCpus = 1, MinCpus = 0.05, MaxCpus = 64;
    public const long DefaultTmpMiB = 64, MinTmpMiB = 1, MaxTmpMiB = 16384;
    public const long MinDiskMiB = 1, MaxDiskMiB = 1L << 24;
    public const int MinIoWeight = 10, MaxIoWeight = 1000;
    public const long MinIoBps = 4096, MinIops = 1, MaxIoRate = 1L << 40;
    public const long MaxTtlSeconds = 30L * 24 * 3600;
    public const long DefaultExecTimeoutMs = 60_000, MaxTimeoutMs = 86_400_000;
    public const long DefaultMaxOutputBytes = 16L << 20, MaxOutputBytesLimit = 1L << 30;

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,62}$")]
    private static partial Regex NamePattern();

    /// <summary>
    /// The limits a sandbox gets: what was asked for, defaults for the rest. A disk or I/O limit that
    /// the host cannot enforce is null in the result, and asking for one explicitly is refused
    /// (limit_unavailable) rather than silently not enforced.
    /// </summary>
    public static SandboxLimits Limits(SandboxLimits? given, HostLimits host)
    {
        var limits = new SandboxLimits(
            given?.MemoryMiB ?? DefaultMemoryMiB,
            given?.Pids ?? DefaultPids,
            given?.Cpus ?? DefaultCpus,
            given?.TmpMiB ?? DefaultTmpMiB,
            host.DiskQuotas ? given?.DiskMiB ?? host.DefaultDiskMiB : Unavailable("limits.diskMiB", given?.DiskMiB, host.NoDiskQuotas),
            host.IoWeight ? given?.IoWeight ?? host.DefaultIoWeight : Unavailable("limits.ioWeight", given?.IoWeight, host.NoIoWeight),
            host.IoThrottle ? given?.IoReadBps : Unavailable("limits.ioReadBps", given?.IoReadBps, host.NoIoThrottle),
            host.IoThrottle ? given?.IoWriteBps : Unavailable("limits.ioWriteBps", given?.IoWriteBps, host.NoIoThrottle),
            host.IoThrottle ? given?.IoReadIops : Unavailable("limits.ioReadIops", given?.IoReadIops, host.NoIoThrottle),
            host.IoThrottle ? given?.IoWriteIops : Unavailable("limits.ioWriteIops", given?.IoWriteIops, host.NoIoThrottle));
        Range("limits.memoryMiB", limits.MemoryMiB!.Value, MinMemoryMiB, MaxMemoryMiB);
        Range("limits.pids", limits.Pids!.Value, MinPids, MaxPids);
        Range("limits.cpus", limits.Cpus!.Value, MinCpus, MaxCpus);
        Range("limits.tmpMiB", limits.TmpMiB!.Value, MinTmpMiB, MaxTmpMiB);
        Optional("limits.diskMiB", limits.DiskMiB, MinDiskMiB, MaxDiskMiB);
        Optional("limits.ioWeight", limits.IoWeight, MinIoWeight, MaxIoWeight);
        Optional("limits.ioReadBps", limits.IoReadBps, MinIoBps, MaxIoRate);
        Optional("limits.ioWriteBps", limits.IoWriteBps, MinIoBps, MaxIoRate);
        Optional("limits.ioReadIops", limits.IoReadIops, MinIops, MaxIoRate);
        Optional("limits.ioWriteIops", limits.IoWriteIops, MinIops, MaxIoRate);
        return limits;
    }

    private static T? Unavailable<T>(string field, T? given, string why) where T : struct =>
        given is null
            ? null
            : throw new HutchException(ErrorCodes.LimitUnavailable, $"{field} cannot be enforced on this host: {why}. Leave it out, or fix the host (`hutch doctor` on it says what is missing).");

    private static void Optional(string field, double? value, double min, double max)
    {
        if (value is { } v)
        {
            Range(field, v, min, max);
        }
    }

    public static void Name(string? name)
    {
        if (name is null)
        {
            return;
        }
        if (!NamePattern().IsMatch(name) || name.StartsWith("sb-", StringComparison.Ordinal))
        {
            throw new HutchException(ErrorCodes.InvalidName,
                $"The name '{name}' is not allowed. Use 1-63 lowercase letters, digits and '-', starting with a letter or digit and not with 'sb-' (reserved for ids).");
        }
    }

    public static string User(string? user) => user switch
    {
        null or "user" => "user",
        "root" => "root",
        _ => throw new HutchException(ErrorCodes.InvalidUser, $"The user '{user}' is not known. Use \"user\" (uid 1000, the default) or \"root\" (uid 0 inside the sandbox)."),
    };

    /// <summary>
    /// A TTL given at create or in a PATCH. Left out means none; 0 is refused rather than read as
    /// "never" (or "now"): a harness computing a TTL that came out 0 must hear so, not get a sandbox
    /// that lives forever.
    /// </summary>
    public static long? Ttl(long? ttlSeconds)
    {
        if (ttlSeconds is null)
        {
            return null;
        }
        if (ttlSeconds is < 1 or > MaxTtlSeconds)
        {
            throw new HutchException(ErrorCodes.InvalidTtl,
                $"ttlSeconds must be between 1 and {MaxTtlSeconds} (30 days); it was {ttlSeconds}. Leave it out for a sandbox without a TTL.");
        }
        return ttlSeconds;
    }

    public static Dictionary<string, string> Env(Dictionary<string, string>? env, string field)
    {
        if (env is null)
        {
            return [];
        }
        foreach (var (key, value) in env)
        {
            if (key.Length == 0 || key.Contains('=') || key.Contains('\0'))
            {
                throw new HutchException(ErrorCodes.InvalidEnv,
                    $"The environment variable name '{key.Replace("\0", "\\0", StringComparison.Ordinal)}' in {field} is not allowed: names must be non-empty and cannot contain '=' or NUL.");
            }
            if (value.Contains('\0'))
            {
                throw new HutchException(ErrorCodes.InvalidEnv, $"The value of {field}.{key} contains a NUL byte, which no process environment can hold. Remove it.");
            }
        }
        CommandSize.CheckEnv(env, field);
        return env;
    }

    /// <summary>The argv to run: the given one, or `/bin/sh -c Command`.</summary>
    public static string[] Argv(ExecRequest request) => Argv(request.Argv, request.Command);

    /// <summary>
    /// An exec's command: its argv, and for a shell line too long for an argument the argv that runs
    /// it from a script and the script's bytes (<see cref="ShellScript"/>). An argv is never rewritten:
    /// what the kernel refuses of it is command_too_long.
    /// </summary>
    public static (string[] Argv, byte[]? Script) ExecCommand(ExecRequest request)
    {
        if (request.Command is { } command && request.Argv is not { Length: > 0 } && ShellScript.IsScript(command))
        {
            CheckText(command);
            return (ShellScript.Argv, ShellScript.Of(command));
        }
        return (Argv(request), null);
    }

    private static void CheckText(string command)
    {
        if (string.IsNullOrWhiteSpace(command))
        {
            throw new HutchException(ErrorCodes.EmptyCommand, "The command is empty. Send a shell line in command, like \"ls -la\", or a program in argv.");
        }
        if (command.Contains('\0'))
        {
            throw new HutchException(ErrorCodes.InvalidCommand,
                $"command contains a NUL byte at character {command.IndexOf('\0')}, which no program can receive. Remove it, or send such bytes as stdinBase64.");
        }
    }

    public static string[] Argv(string[]? givenArgv, string? givenCommand)
    {
        if (givenArgv is { Length: > 0 } && givenCommand is not null)
        {
            throw new HutchException(ErrorCodes.EmptyCommand, "Give either argv (a program and its arguments) or command (a shell line), not both.");
        }
        if (givenCommand is { } command)
        {
            CheckText(command);
            string[] shell = ["/bin/sh", "-c", command];
            CommandSize.CheckArgv(shell);
            return shell;
        }
        if (givenArgv is not { Length: > 0 } argv || string.IsNullOrEmpty(argv[0]))
        {
            throw new HutchException(ErrorCodes.EmptyCommand, "No command given. Send argv, like [\"ls\", \"-la\"], or a shell line in command.");
        }
        for (var i = 0; i < argv.Length; i++)
        {
            if (argv[i].Contains('\0'))
            {
                throw new HutchException(ErrorCodes.InvalidArgv,
                    $"argv[{i}] contains a NUL byte, which no program can receive as an argument. Remove it, or send such bytes as stdinBase64.");
            }
        }
        CommandSize.CheckArgv(argv);
        return argv;
    }

    public static long Timeout(long? timeoutMs, long fallback)
    {
        if (timeoutMs is null)
        {
            return fallback;
        }
        if (timeoutMs < 1 || timeoutMs > MaxTimeoutMs)
        {
            throw new HutchException(ErrorCodes.InvalidTimeout, $"timeoutMs must be between 1 and {MaxTimeoutMs} (24 h); it was {timeoutMs}. Leave it out for the default.");
        }
        return timeoutMs.Value;
    }

    public const long DefaultMaxLogBytes = 16L << 20;
    public const long MinLogBytes = 64L << 10;
    public const long MaxLogBytesLimit = 1L << 30;

    /// <summary>A durable process's log cap: default 16 MiB, 64 KiB to 1 GiB.</summary>
    public static long MaxLogBytes(long? maxLogBytes)
    {
        var value = maxLogBytes ?? DefaultMaxLogBytes;
        if (value < MinLogBytes || value > MaxLogBytesLimit)
        {
            throw new HutchException(ErrorCodes.LimitOutOfRange,
                $"maxLogBytes must be between {MinLogBytes} and {MaxLogBytesLimit}; it was {value}. Leave it out for 16 MiB.");
        }
        return value;
    }

    public static long MaxOutput(long? maxOutputBytes)
    {
        var value = maxOutputBytes ?? DefaultMaxOutputBytes;
        Range("maxOutputBytes", value, 1, MaxOutputBytesLimit);
        return value;
    }

    public static string Encoding(string? encoding) => encoding switch
    {
        null or "utf8" => "utf8",
        "base64" => "base64",
        _ => throw new HutchException(ErrorCodes.InvalidEncoding, $"encoding '{encoding}' is not known. Use \"utf8\" (default) or \"base64\" for binary output."),
    };

    /// <summary>The stdin bytes, or null for /dev/null; never more than <see cref="ExecLimits.MaxStdinBytes"/>, which no part of Hutch would drop silently.</summary>
    public static byte[]? Stdin(ExecRequest request)
    {
        var bytes = StdinBytes(request);
        return bytes is not null && bytes.Length > ExecLimits.MaxStdinBytes
            ? throw new HutchException(ErrorCodes.StdinTooLarge,
                $"stdin is {bytes.Length} bytes, more than an exec is given whole ({ExecLimits.MaxStdinBytes} bytes). Write the input into the workspace " +
                "with the files API (PUT /v1/sandboxes/{id}/files/content?path=input) and redirect it: \"cmd < input\".")
            : bytes;
    }

    private static byte[]? StdinBytes(ExecRequest request)
    {
        if (request.Stdin is not null && request.StdinBase64 is not null)
        {
            throw new HutchException(ErrorCodes.InvalidStdin, "Give stdin (text) or stdinBase64 (bytes), not both.");
        }
        if (request.StdinBase64 is { } b64)
        {
            try
            {
                return Convert.FromBase64String(b64);
            }
            catch (FormatException)
            {
                throw new HutchException(ErrorCodes.InvalidStdin, "stdinBase64 is not valid base64. Encode the bytes with standard base64 (RFC 4648, with padding).");
            }
        }
        return request.Stdin is { } text ? System.Text.Encoding.UTF8.GetBytes(text) : null;
    }

    private static void Range(string field, double value, double min, double max)
    {
        if (double.IsNaN(value) || value < min || value > max)
        {
            throw new HutchException(ErrorCodes.LimitOutOfRange, $"{field} must be between {min} and {max}; it was {value}. Leave it out for the default.");
        }
    }
}
