using System.CommandLine;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>`hutch checkpoint create|ls|rm ID [NAME]`: named snapshots of a sandbox's /workspace, for `hutch diff --since` and `hutch reset --to`.</summary>
internal static class CheckpointCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("checkpoint", "Named snapshots of a sandbox's /workspace: create, ls, rm")
        {
            CreateCheckpoint(console), List(console), Remove(console),
        };
        command.Aliases.Add("checkpoints");
        return command;
    }

    private static Argument<string> Id() => new("id") { Description = "The sandbox's id or name" };

    private static Argument<string> Name(string description) => new("name") { Description = description };

    private static Command CreateCheckpoint(CliConsole console)
    {
        var id = Id();
        var name = Name("A name for it, unique in the sandbox");
        var includeRoot = DiffCommand.IncludeRoot("Also record the sandbox's root (a sandbox made from a template: what changed outside /workspace)");
        var json = CommonOptions.Json();
        var command = new Command("create", "Record the workspace as a checkpoint and print its name") { id, name, includeRoot, json };

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var checkpoint = await client.CreateCheckpointAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(name), parse.GetValue(includeRoot), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, checkpoint, JsonOutput.Context.CheckpointInfo);
            }
            else
            {
                console.Out.WriteLine(checkpoint.Name);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CliConsole console)
    {
        var id = Id();
        var json = CommonOptions.Json();
        var command = new Command("ls", "List a sandbox's checkpoints, oldest first") { id, json };
        command.Aliases.Add("list");

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var checkpoints = await client.ListCheckpointsAsync(parse.GetRequiredValue(id), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, new CheckpointList([.. checkpoints]), JsonOutput.Context.CheckpointList);
            }
            else
            {
                console.Out.Write(Render(checkpoints, TimeProvider.System.GetUtcNow()));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    public static string Render(IEnumerable<CheckpointInfo> checkpoints, DateTimeOffset now)
    {
        var table = new Table("NAME", "CREATED", "FILES", "SIZE");
        foreach (var c in checkpoints)
        {
            table.Add(SafeText.Show(c.Name), Format.Relative(c.CreatedAt, now), c.Files.ToString(System.Globalization.CultureInfo.InvariantCulture), Format.Bytes(c.Bytes));
        }
        return table.ToString();
    }

    private static Command Remove(CliConsole console)
    {
        var id = Id();
        var name = Name("The checkpoint to delete");
        var json = CommonOptions.Json();
        var command = new Command("rm", "Delete a checkpoint") { id, name, json };
        command.Aliases.Add("delete");

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var checkpoint = parse.GetRequiredValue(name);
            await client.DeleteCheckpointAsync(parse.GetRequiredValue(id), checkpoint, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("deleted", checkpoint);
                    w.WriteEndObject();
                });
            }
            else
            {
                console.Out.WriteLine(checkpoint);
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
