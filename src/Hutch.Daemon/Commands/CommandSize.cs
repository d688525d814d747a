using System.Globalization;
using System.Text;
using System.Text.Json;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Api;
using Hutch.Protocol.Redaction;

namespace Hutch.Daemon.Commands;

/// <summary>
/// How big a command may be: what the kernel's execve takes, and what fits the one frame that carries
/// a start to the sandbox's agent. Checked before anything starts, so an oversized argument or
/// environment is a 400 that says what to send instead, never a 500 or a spawn failure.
/// </summary>
public static class CommandSize
{
    /// <summary>MAX_ARG_STRLEN: the kernel refuses (E2BIG) any one argument or NAME=value over 32 pages, its NUL included.</summary>
    public const int MaxStringBytes = 131_071;

    /// <summary>One env map (a create's, a command's): the sandbox's and the command's must fit one start together.</summary>
    public const int MaxEnvBytes = 256 << 10;

    public static void CheckArgv(string[] argv)
    {
        for (var i = 0; i < argv.Length; i++)
        {
            var bytes = Encoding.UTF8.GetByteCount(argv[i]);
            if (bytes > MaxStringBytes)
            {
                throw TooLong($"argv[{i}] is {Format(bytes)} bytes; the kernel takes at most {Format(MaxStringBytes)} per argument (a shell line in command counts as one).");
            }
        }
    }

    public static void CheckEnv(Dictionary<string, string> env, string field)
    {
        long total = 0;
        foreach (var (key, value) in env)
        {
            var bytes = Encoding.UTF8.GetByteCount(key) + 1 + Encoding.UTF8.GetByteCount(value);
            if (bytes > MaxStringBytes)
            {
                throw TooLong($"{field}.{Shorten(key)} is {Format(bytes)} bytes as NAME=value; the kernel takes at most {Format(MaxStringBytes)} per variable.");
            }
            total += bytes + 1;
        }
        if (total > MaxEnvBytes)
        {
            throw TooLong($"{field} holds {env.Count} variables of {Format(total)} bytes; at most {Format(MaxEnvBytes)} are taken.");
        }
    }

    /// <summary>The whole start (argv, environment, working directory) as the agent receives it.</summary>
    public static void CheckStart(ExecStart start)
    {
        if (MayExceedFrame(start.Argv, start.Env, start.Cwd, start.Redact))
        {
            CheckFrame(JsonSerializer.SerializeToUtf8Bytes(start, AgentJsonContext.Default.ExecStart).Length);
        }
    }

    public static void CheckStart(ProcessStart start)
    {
        if (MayExceedFrame(start.Argv, start.Env, start.Cwd, start.Redact))
        {
            CheckFrame(JsonSerializer.SerializeToUtf8Bytes(start, AgentJsonContext.Default.ProcessStart).Length);
        }
    }

    /// <summary>
    /// An upper bound, so nearly every start (an exec's hot path) is not serialized a second time just
    /// to be measured: JSON spends at most 6 bytes per UTF-16 character (\uXXXX), and a few for each
    /// string's quotes and separators and for the other members; secrets to redact go as base64.
    /// </summary>
    private static bool MayExceedFrame(string[] argv, Dictionary<string, string> env, string cwd, RedactedSecret[]? redact)
    {
        long chars = cwd.Length, strings = 1 + argv.Length + 2L * env.Count;
        foreach (var secret in redact ?? [])
        {
            chars += secret.Name.Length + (secret.Value.Length + 2) / 3 * 4;
            strings += 4;
        }
        foreach (var arg in argv)
        {
            chars += arg.Length;
        }
        foreach (var (key, value) in env)
        {
            chars += key.Length + value.Length;
        }
        return 6 * chars + 4 * strings + 1024 > FrameCodec.MaxPayload;
    }

    private static void CheckFrame(int bytes)
    {
        if (bytes > FrameCodec.MaxPayload)
        {
            throw TooLong($"its arguments and environment together are {Format(bytes)} bytes encoded; at most {Format(FrameCodec.MaxPayload)} are taken.");
        }
    }

    private static HutchException TooLong(string why) => new HutchException(ErrorCodes.CommandTooLong,
        $"The command is too long to start: {why} Send long content as stdin, or write it to a file with the files API and run or read that file.");

    private static string Format(long bytes) => bytes.ToString("N0", CultureInfo.InvariantCulture);

    private static string Shorten(string key) => key.Length <= 64 ? key : key[..64] + "…";
}
