using System.CommandLine;
using System.Globalization;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>`hutch artifacts ls|get|url|rm`: the files sandboxes keep (docs/artifacts.md).</summary>
internal static class ArtifactsCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("artifacts", "The files sandboxes keep: ls, get, url, rm, prune (docs/artifacts.md)")
        {
            List(console), Get(console), Url(console), Remove(console), Prune(console),
        };
        command.Aliases.Add("artifact");
        return command;
    }

    /// <summary>A sandbox's id or name, or a set as "session:KEY" (also after its sandboxes are gone).</summary>
    private static Argument<string> Target() => new("sandbox-or-set") { Description = "A sandbox's id or name, or a set: session:KEY, or a deleted sandbox's id" };

    private static async Task<ArtifactList> ListAsync(Hutch.Client.HutchClient client, string target, CancellationToken cancellationToken)
    {
        if (target.StartsWith("session:", StringComparison.Ordinal))
        {
            return await client.GetArtifactSetAsync(target, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            return await client.ListArtifactsAsync(target, cancellationToken).ConfigureAwait(false);
        }
        catch (Hutch.Client.HutchApiException e) when (e.Code is ErrorCodes.SandboxNotFound or ErrorCodes.SandboxExpired)
        {
            return await client.GetArtifactSetAsync(target, cancellationToken).ConfigureAwait(false);   // a deleted sandbox's set outlives it
        }
    }

    private static Command List(CliConsole console)
    {
        var target = Target();
        var json = CommonOptions.Json();
        var command = new Command("ls", "List the kept files of a sandbox or set") { target, json };
        command.Aliases.Add("list");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var list = await ListAsync(client, parse.GetRequiredValue(target), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, list, JsonOutput.Context.ArtifactList);
                return ExitCodes.Success;
            }
            var table = new Table("PATH", "SIZE", "SHA256", "STATE", "PURPOSE", "KEPT");
            foreach (var a in list.Artifacts)
            {
                table.Add(a.Path, Format.Bytes(a.Size), a.Sha256 is { } sha ? sha[..12] : "-", a.State, a.Purpose, Format.Instant(a.Created));
            }
            console.Out.Write(list.Artifacts.Count == 0 ? $"no artifacts in {list.Set}\n" : table.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Get(CliConsole console)
    {
        var target = Target();
        var path = new Argument<string>("path") { Description = "The kept file's path, relative to /workspace" };
        var output = new Option<string?>("--output", "-o") { Description = "Write it to this file (default: standard output)", HelpName = "FILE" };
        var command = new Command("get", "Write a kept file's bytes to standard output or a file") { target, path, output };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var list = await ListAsync(client, parse.GetRequiredValue(target), cancellationToken).ConfigureAwait(false);
            await using var content = await client.OpenArtifactAsync(list.Set, parse.GetRequiredValue(path), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(output) is { } file)
            {
                await using var to = File.Create(file);
                await content.CopyToAsync(to, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await using var stdout = Console.OpenStandardOutput();
                await content.CopyToAsync(stdout, cancellationToken).ConfigureAwait(false);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Url(CliConsole console)
    {
        var target = Target();
        var path = new Argument<string>("path") { Description = "The kept file's path, relative to /workspace" };
        var command = new Command("url", "Print a link to a kept file that opens without the API key, until it expires") { target, path };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var list = await ListAsync(client, parse.GetRequiredValue(target), cancellationToken).ConfigureAwait(false);
            var wanted = parse.GetRequiredValue(path);
            if (list.Artifacts.FirstOrDefault(a => a.Path == wanted) is not { Url: { } url })
            {
                console.Fail($"{list.Set} keeps no stored artifact '{wanted}' (`hutch artifacts ls` lists them)");
                return ExitCodes.Usage;
            }
            console.Out.WriteLine(url);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Remove(CliConsole console)
    {
        var set = new Argument<string>("set") { Description = "The set to delete: session:KEY, or a sandbox's id" };
        var json = CommonOptions.Json();
        var command = new Command("rm", "Delete a set: its recorded files newest first, its manifest, its directory; prints what it deleted") { set, json };
        command.Aliases.Add("delete");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var cleanup = await client.DeleteArtifactSetAsync(parse.GetRequiredValue(set), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, cleanup, JsonOutput.Context.ArtifactCleanup);
                return ExitCodes.Success;
            }
            foreach (var path in cleanup.Deleted)
            {
                console.Out.WriteLine(SafeText.Show(path));
            }
            console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"deleted {cleanup.Deleted.Count} artifacts of {cleanup.Set}"));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Prune(CliConsole console)
    {
        var json = CommonOptions.Json();
        var command = new Command("prune", "Delete stored content no set names any more (what deleted sets kept, unless another set keeps the same bytes)") { json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var pruned = await client.PruneArtifactsAsync(cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, pruned, JsonOutput.Context.ArtifactPruneResult);
                return ExitCodes.Success;
            }
            console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"deleted {pruned.Blobs} stored contents ({Format.Bytes(pruned.Bytes)})"));
            return ExitCodes.Success;
        });
        return command;
    }
}
