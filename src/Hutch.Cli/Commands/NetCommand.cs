using System.CommandLine;
using System.Text;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>`hutch net set ID …` changes a sandbox's network policy; `hutch net events ID` (or `log`) shows what its connections met; `hutch net presets` what presets allow.</summary>
internal static class NetCommand
{
    public static Command Create(CliConsole console) => new("net", "A sandbox's network: its policy and its connections")
    {
        Set(console),
        Events(console),
        Presets(console),
    };

    private static Command Set(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var network = new NetworkOptions();
        var json = CommonOptions.Json();
        var command = new Command("set", "Replace a sandbox's network policy: new connections see it at once, open ones it no longer allows are closed") { id, json };
        network.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var policy = network.ToPolicy(parse)
                ?? throw new CliException(ErrorCodes.InvalidRequest, "Give the new policy: --network none|allowlist|public, --allow ENTRY, --deny ENTRY.", ExitCodes.Usage);
            using var client = Connection.Connect(parse);
            var info = await client.SetNetworkAsync(parse.GetRequiredValue(id), policy, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, info, JsonOutput.Context.SandboxInfo);
            }
            else
            {
                console.Out.WriteLine($"{info.Id}: network {Describe(info.Network)}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Events(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var cursor = new Option<long>("--cursor") { Description = "Start after this cursor (printed with --json) instead of at the first event", HelpName = "N" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing events as they come" };
        var json = CommonOptions.Json();
        var command = new Command("events", "Show the sandbox's connections: refused ones with why and what to change, allowed ones when they close")
        {
            id, cursor, follow, json,
        };
        command.Aliases.Add("log");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var any = false;
            await foreach (var e in client.ReadNetworkEventsAsync(parse.GetRequiredValue(id), parse.GetValue(cursor), parse.GetValue(follow), cancellationToken).ConfigureAwait(false))
            {
                any = true;
                // --json: one compact line per event (NDJSON, as the API streams them), so a reader can follow line by line.
                console.Out.Write(parse.GetValue(json) ? System.Text.Json.JsonSerializer.Serialize(e, ApiJsonContext.Default.NetworkEvent) + "\n" : Render(e));
            }
            if (!any && !parse.GetValue(json))
            {
                console.Out.WriteLine("no network events");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Presets(CliConsole console)
    {
        var json = CommonOptions.Json();
        var command = new Command("presets", "Show what each network preset (--preset) allows on the daemon's host, and where it was read") { json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var presets = await client.ListNetworkPresetsAsync(cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, presets, JsonOutput.Context.NetworkPresetInfoArray);
                return ExitCodes.Success;
            }
            foreach (var preset in presets)
            {
                console.Out.WriteLine($"{preset.Name}: {(preset.Allow.Length == 0 ? "nothing on this host" : string.Join(' ', preset.Allow.Select(a => a[(a.IndexOf('(') + 1)..^1])))}");
                foreach (var source in preset.Sources)
                {
                    console.Out.WriteLine($"  {source.Tool,-4} {source.Url}  ({source.From})");
                }
                foreach (var note in preset.Notes)
                {
                    console.Out.WriteLine($"  note: {note}");
                }
            }
            return ExitCodes.Success;
        });
        return command;
    }

    public static string Render(NetworkEvent e)
    {
        var line = new StringBuilder();
        line.Append(Format.Instant(e.Time)).Append("  ").Append(e.Outcome.PadRight(8)).Append(' ');
        if (e.Code is { } code)
        {
            line.Append(code).Append("  ");
        }
        line.Append(e.Message);
        if (e.Outcome == NetworkOutcomes.Allowed)
        {
            line.Append($" ({Format.Bytes(e.BytesOut)} out, {Format.Bytes(e.BytesIn)} in, {e.DurationMs} ms)");
        }
        return line.Append('\n').ToString();
    }

    public static string Describe(NetworkPolicy? policy)
    {
        if (policy is null || policy.Mode is null or NetworkModes.None)
        {
            return "none (nothing leaves)";
        }
        var text = new StringBuilder(policy.Mode);
        if (policy.Allow is { Length: > 0 } allow)
        {
            text.Append(", allow ").Append(string.Join(' ', allow));
        }
        if (policy.Preset is { } preset)
        {
            text.Append(", preset ").Append(preset);
        }
        if (policy.Deny is { Length: > 0 } deny)
        {
            text.Append(", deny ").Append(string.Join(' ', deny));
        }
        return text.ToString();
    }

    /// <summary>The egress counters of `hutch info`.</summary>
    public static string Describe(NetworkUsage usage) =>
        $"{usage.Connections} connections ({usage.OpenConnections} open), {usage.Refused} refused, {Format.Bytes(usage.BytesOut)} out, {Format.Bytes(usage.BytesIn)} in";
}
