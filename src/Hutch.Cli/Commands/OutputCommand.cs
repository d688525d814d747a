using System.CommandLine;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch output ID OUTPUT [--stderr] [--offset N]`: writes a truncated exec's whole stdout (or
/// stderr), kept by the daemon, to hutch's stdout byte for byte. `hutch exec` names the command on
/// its output_truncated line; the API's result names it as fullOutput.
/// </summary>
internal static class OutputCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var output = new Argument<string>("output") { Description = "The kept output's id (out-…), as the truncation note or the result's fullOutput.id names it" };
        var stderr = new Option<bool>("--stderr") { Description = "Write the command's stderr instead of its stdout" };
        var offset = new Option<long>("--offset") { Description = "Start at this byte (the head the result already held: skip it)", HelpName = "BYTES" };
        var command = new Command("output", "Write the whole output of an exec whose output was truncated") { id, output, stderr, offset };

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            await using var content = await client.ReadExecOutputAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(output),
                parse.GetValue(stderr) ? "stderr" : "stdout", parse.GetValue(offset), cancellationToken: cancellationToken).ConfigureAwait(false);
            await using var stdout = console.OpenStdout();
            await content.CopyToAsync(stdout, 1 << 20, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }
}
