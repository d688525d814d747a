using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Hutch.Cli.Exec;

namespace Hutch.Cli.Commands;

/// <summary>
/// How `exec` and `run` join a command to hutch's own streams: whether stdin is forwarded
/// (docs/exec.md#stdin) and how much output is kept before it is cut.
/// </summary>
internal sealed class CommandIoOptions
{
    public Option<bool> Stdin { get; } = new("--stdin", "-i")
    {
        Description = "Give the command this program's stdin, read to its end before the command starts (a pipe must be closed by its writer)",
    };

    public Option<bool> NoStdin { get; } = new("--no-stdin")
    {
        Description = "Never read this program's stdin, not even a file (without -i a pipe is never read)",
    };

    public Option<long?> MaxOutput { get; } = new("--max-output")
    {
        Description = $"Keep at most this much of stdout+stderr, 1 B to 1 GiB, with an optional K, M or G suffix (default 16M); past it output is cut and the exit status is {ExitCodes.OutputTruncated}",
        HelpName = "BYTES",
        CustomParser = ParseBytes,
    };

    public Option<bool> AllowTruncation { get; } = new("--allow-truncation")
    {
        Description = $"Exit with the command's status even when its output was cut (the note on stderr stays), instead of {ExitCodes.OutputTruncated}",
    };

    public void AddTo(Command command)
    {
        command.Add(Stdin);
        command.Add(NoStdin);
        command.Add(MaxOutput);
        command.Add(AllowTruncation);
        command.Validators.Add(result =>
        {
            if (result.GetValue(Stdin) && result.GetValue(NoStdin))
            {
                result.AddError("Give -i (forward stdin) or --no-stdin, not both.");
            }
        });
    }

    public StdinMode StdinModeOf(ParseResult parse) =>
        parse.GetValue(Stdin) ? StdinMode.Forward : parse.GetValue(NoStdin) ? StdinMode.Never : StdinMode.Auto;

    public OutputCap Cap(ParseResult parse) => new(parse.GetValue(MaxOutput), parse.GetValue(AllowTruncation));

    /// <summary>"65536", "64K", "16M", "1G" (powers of 1024), within the API's 1 B - 1 GiB.</summary>
    private static long? ParseBytes(ArgumentResult result)
    {
        var text = result.Tokens.Single().Value.Trim();
        var shift = text.Length > 0 ? char.ToUpperInvariant(text[^1]) switch { 'K' => 10, 'M' => 20, 'G' => 30, _ => 0 } : 0;
        var digits = shift == 0 ? text : text[..^1];
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > OutputCap.MostBytes)
        {
            result.AddError($"--max-output '{text}' is not a size: write bytes, or a number with K, M or G, e.g. --max-output 64M.");
            return null;
        }
        var bytes = number << shift;
        if (bytes is < 1 or > OutputCap.MostBytes)
        {
            result.AddError($"--max-output {text} is out of range: the daemon keeps 1 B to 1 GiB (--max-output 1G) of a command's output.");
            return null;
        }
        return bytes;
    }
}
