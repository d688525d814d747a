using System.CommandLine;
using System.Text;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>`hutch events ID`: what happened to a sandbox on the daemon's own account (adopted, lost, commands carried on).</summary>
internal static class EventsCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var json = CommonOptions.Json();
        var command = new Command("events", "Show what happened to a sandbox on the daemon's own account, oldest first") { id, json };

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var events = await client.GetEventsAsync(parse.GetRequiredValue(id), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, new SandboxEventList([.. events]), JsonOutput.Context.SandboxEventList);
            }
            else
            {
                console.Out.Write(Render(events));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    public static string Render(IReadOnlyList<SandboxEvent> events)
    {
        var text = new StringBuilder();
        foreach (var e in events)
        {
            text.Append(Format.Instant(e.At)).Append("  ").Append(e.Type.PadRight(16)).Append(e.Message).Append('\n');
        }
        return events.Count == 0 ? "no events\n" : text.ToString();
    }
}
