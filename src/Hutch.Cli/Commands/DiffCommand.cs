using System.CommandLine;
using Hutch.Cli.Output;

namespace Hutch.Cli.Commands;

/// <summary>`hutch diff ID [--since NAME]`: what changed in the workspace, one <c>A|M|D path</c> line per path.</summary>
internal static class DiffCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var since = new Option<string?>("--since") { Description = "Compare with this checkpoint (default: the baseline, the workspace as created or as last imported)", HelpName = "NAME" };
        var json = CommonOptions.Json();
        var command = new Command("diff", "List paths added (A), modified (M) and deleted (D) in a sandbox's /workspace") { id, since, json };

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var diff = await client.DiffAsync(parse.GetRequiredValue(id), parse.GetValue(since), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, diff, JsonOutput.Context.WorkspaceDiff);
            }
            else
            {
                console.Out.Write(Changes.Render(diff));
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
