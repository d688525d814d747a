using System.CommandLine;
using Hutch.Cli.Output;

namespace Hutch.Cli.Commands;

/// <summary>`hutch ttl ID 30m`: gives a sandbox a new TTL counted from now and prints when it now expires.</summary>
internal static class TtlCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var ttl = new Argument<long?>("duration")
        {
            Description = "The new TTL from now: seconds, or 30m, 2h, 1d (1 s to 30 days); it replaces the old one, longer or shorter",
            CustomParser = result => Durations.Parse(result, "duration"),
        };
        var json = CommonOptions.Json();
        var command = new Command("ttl", "Set or extend a sandbox's TTL, counted from now") { id, ttl, json };

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var info = await client.SetTtlAsync(parse.GetRequiredValue(id), TimeSpan.FromSeconds(parse.GetValue(ttl) ?? 0), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, info, JsonOutput.Context.SandboxInfo);
            }
            else if (info.ExpiresAt is { } expires)
            {
                console.Out.WriteLine($"{info.Id} expires at {Format.Instant(expires)} ({Format.Relative(expires, TimeProvider.System.GetUtcNow())})");
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
