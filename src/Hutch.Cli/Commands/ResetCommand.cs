using System.CommandLine;
using Hutch.Cli.Output;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch reset ID [--to NAME]`: returns the workspace to a checkpoint or the baseline, and prints what it
/// undid in `hutch diff`'s format (A: an added path removed again, M: restored, D: brought back).
/// </summary>
internal static class ResetCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var to = new Option<string?>("--to") { Description = "Return to this checkpoint (default: the baseline, the workspace as created or as last imported)", HelpName = "NAME" };
        var includeRoot = DiffCommand.IncludeRoot("Also return the sandbox's root to it (a checkpoint taken with --include-root; the baseline is the template); the sandbox is paused meanwhile");
        var json = CommonOptions.Json();
        var command = new Command("reset", "Return a sandbox's /workspace to a checkpoint or the baseline; prints the changes undone") { id, to, includeRoot, json };

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var undone = await client.ResetAsync(parse.GetRequiredValue(id), parse.GetValue(to), parse.GetValue(includeRoot), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, undone, JsonOutput.Context.WorkspaceDiff);
            }
            else
            {
                console.Out.Write(Changes.Render(undone));
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
