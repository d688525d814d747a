using System.CommandLine;
using System.Text;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>`hutch info ID`: every field of one sandbox, with live usage.</summary>
internal static class InfoCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var json = CommonOptions.Json();
        var command = new Command("info", "Show one sandbox: state, limits, usage") { id, json };
        command.Aliases.Add("inspect");

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var info = await client.GetSandboxAsync(parse.GetRequiredValue(id), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, info, JsonOutput.Context.SandboxInfo);
            }
            else
            {
                console.Out.Write(Render(info, TimeProvider.System.GetUtcNow()));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    public static string Render(SandboxInfo s, DateTimeOffset now)
    {
        var text = new StringBuilder();
        void Line(string key, string value) => text.Append(key.PadRight(9)).Append(value).Append('\n');

        Line("id", s.Id);
        Line("name", s.Name ?? "-");
        Line("state", s.State);
        Line("created", $"{Format.Instant(s.CreatedAt)} ({Format.Relative(s.CreatedAt, now)})");
        Line("expires", s.ExpiresAt is { } e ? $"{Format.Instant(e)} ({Format.Relative(e, now)})" : "never");
        Line("user", s.User);
        Line("cwd", s.Cwd);
        Line("root", s.Template is { } template ? $"template {template} (writable)" : "the host's (read-only)");
        if (s.Labels is { Count: > 0 } labels)
        {
            Line("labels", string.Join(", ", labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")));
        }
        Line("network", NetCommand.Describe(s.Network));
        if (s.NetworkUsage is { } traffic)
        {
            Line("egress", NetCommand.Describe(traffic));
        }
        if (s.Secrets is { Length: > 0 } secrets)
        {
            Line("secrets", string.Join(", ", secrets.Select(u => u switch
            {
                { File: { } file } => $"{u.Name} in {SecretKinds.FileDir}/{file}",
                { Env: { } variable } when variable != u.Name => $"{u.Name} as ${variable} ({u.As})",
                _ => $"{u.Name} ({u.As})",
            })));
        }
        var l = s.Limits;
        Line("limits", string.Join(", ",
            $"memory {(l.MemoryMiB is { } m ? $"{m} MiB" : "default")}",
            $"pids {(l.Pids is { } p ? p.ToString(System.Globalization.CultureInfo.InvariantCulture) : "default")}",
            $"cpus {(l.Cpus is { } c ? Format.Number(c) : "default")}",
            $"tmp {(l.TmpMiB is { } t ? $"{t} MiB" : "default")}")
            + (l.DiskMiB is { } d ? $", disk {d} MiB" : "")
            + (l.IoWeight is { } w ? $", io weight {w}" : "")
            + Throttle("read", l.IoReadBps, l.IoReadIops) + Throttle("write", l.IoWriteBps, l.IoWriteIops));
        Line("usage", s.Usage is { } u
            ? $"memory {Format.Bytes(u.MemoryBytes)} (peak {Format.Bytes(u.MemoryPeakBytes)}), pids {u.Pids}, cpu {Format.Millis(u.CpuTimeMs)}, oom kills {u.OomKills}"
                + (u.DiskBytes is { } db ? $", disk {Format.Bytes(db)}{(u.DiskLimitBytes is { } dl ? $" of {Format.Bytes(dl)}" : "")}" : "")
                + (u.CheckpointBytes is { } cb ? $", checkpoints {Format.Bytes(cb)}" : "")
            : "- (not running)");
        return text.ToString();
    }

    private static string Throttle(string direction, long? bps, long? iops) =>
        (bps, iops) switch
        {
            (null, null) => "",
            _ => $", io {direction} " + string.Join(" and ", new[]
            {
                bps is { } b ? $"{Format.Bytes(b)}/s" : null,
                iops is { } o ? $"{o.ToString(System.Globalization.CultureInfo.InvariantCulture)} ops/s" : null,
            }.OfType<string>()),
        };
}
