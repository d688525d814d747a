using System.CommandLine;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>`hutch ls`: one row per sandbox.</summary>
internal static class ListCommand
{
    public static Command Create(CliConsole console)
    {
        var json = CommonOptions.Json();
        var labels = CommonOptions.Labels("Only sandboxes with this label");
        var command = new Command("ls", "List sandboxes") { json, labels };
        command.Aliases.Add("list");

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var sandboxes = await client.ListSandboxesAsync(CommonOptions.ToEnv(parse.GetValue(labels)) ?? [], cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, new SandboxList([.. sandboxes]), JsonOutput.Context.SandboxList);
            }
            else
            {
                console.Out.Write(Render(sandboxes, TimeProvider.System.GetUtcNow()));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    public static string Render(IEnumerable<SandboxInfo> sandboxes, DateTimeOffset now)
    {
        var table = new Table("ID", "NAME", "STATE", "CREATED", "EXPIRES");
        foreach (var s in sandboxes.OrderBy(s => s.CreatedAt))
        {
            table.Add(
                s.Id,
                s.Name ?? "-",
                s.State,
                Format.Relative(s.CreatedAt, now),
                s.ExpiresAt is { } expires ? Format.Relative(expires, now) : "never");
        }
        return table.ToString();
    }
}
