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
        var includeRoot = IncludeRoot("Also list what changed in the sandbox's root outside /workspace (a sandbox made from a template), as absolute paths");
        var json = CommonOptions.Json();
        var command = new Command("diff", "List paths added (A), modified (M) and deleted (D) in a sandbox's /workspace") { id, since, includeRoot, json };

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var diff = await client.DiffAsync(parse.GetRequiredValue(id), parse.GetValue(since), parse.GetValue(includeRoot), cancellationToken).ConfigureAwait(false);
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

    /// <summary>`--include-root`, shared by checkpoint create, diff and reset.</summary>
    public static Option<bool> IncludeRoot(string description) => new("--include-root") { Description = description };
}
