using System.Globalization;
using System.Text;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Commands;

/// <summary>
/// A shell line too long for an argument (the kernel takes 128 KiB per argument, an exec's whole
/// start 1 MiB): a heredoc of tens of MiB written by a model. It goes to the sandbox apart from the
/// argv, as a script the agent keeps in a memory file and gives the shell on descriptor 9, and
/// <c>/bin/sh -c '. /dev/fd/9'</c> runs it: the same shell, $0 and exit status as <c>sh -c LINE</c>.
/// </summary>
public static class ShellScript
{
    /// <summary>Shell lines longer than this (UTF-8) go as a script; shorter ones stay the argument they always were.</summary>
    public const int ThresholdBytes = 64 << 10;

    /// <summary>The longest shell line taken: what the sandbox's agent holds for one command.</summary>
    public const long MaxBytes = ExecScript.MaxBytes - 64;

    /// <summary>Runs the script on descriptor 9 in the shell itself ('.'), so it is one shell as with -c.</summary>
    public static readonly string[] Argv = ["/bin/sh", "-c", $". /dev/fd/{ExecScript.Fd}"];

    /// <summary>
    /// Closes descriptor 9 before anything of the line runs ('.' has its own, close-on-exec copy of the
    /// file), so the command and its children never see it. On the line's first line: line numbers stay.
    /// </summary>
    private static readonly byte[] Prefix = Encoding.ASCII.GetBytes($"exec {ExecScript.Fd}<&-; ");

    public static bool IsScript(string command) => command.Length > ThresholdBytes / 3 && Encoding.UTF8.GetByteCount(command) > ThresholdBytes;

    /// <summary>The script's bytes for <paramref name="command"/>, or command_too_long past <see cref="MaxBytes"/>.</summary>
    public static byte[] Of(string command)
    {
        var length = Encoding.UTF8.GetByteCount(command);
        if (length > MaxBytes)
        {
            throw new HutchException(ErrorCodes.CommandTooLong, string.Create(CultureInfo.InvariantCulture,
                $"command is {length:N0} bytes; at most {MaxBytes:N0} are taken. Write it to a file with the files API and run that file (sh FILE), or send the data it holds as stdin."));
        }
        var bytes = new byte[Prefix.Length + length];
        Prefix.CopyTo(bytes, 0);
        Encoding.UTF8.GetBytes(command, bytes.AsSpan(Prefix.Length));
        return bytes;
    }
}
