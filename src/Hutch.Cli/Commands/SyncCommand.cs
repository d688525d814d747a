using System.CommandLine;
using Hutch.Cli.Output;
using Hutch.Client.Sync;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch sync push|pull ID LOCALDIR`: a local directory round-trips through a sandbox's workspace.
/// Push makes the sandbox match the local directory and records a baseline; pull merges the
/// sandbox's changes back against it (three-way), keeping both versions of a conflict.
/// </summary>
internal static class SyncCommand
{
    public static Command Create(CliConsole console) => new("sync", "Push a local directory into a sandbox, or pull its changes back with a three-way merge")
    {
        Push(console),
        Pull(console),
    };

    private static Command Push(CliConsole console)
    {
        var (id, local, remote, excludes, json) = Common("--to", "Sandbox directory to push into, relative to /workspace (default: /workspace itself)");
        var preserve = new Option<string[]>("--preserve")
        {
            Description = "Sandbox paths to keep although absent locally (gitignore-style pattern, repeatable), e.g. .venv/",
            HelpName = "PATTERN",
        };
        var command = new Command("push", "Make the sandbox directory match LOCALDIR (minus excludes), and record the baseline for pull") { id, local, remote, excludes, preserve, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var sandbox = parse.GetRequiredValue(id);
            var sync = new SyncClient(new SandboxRemote(client, sandbox), sandbox);
            var options = new SyncOptions { Excludes = parse.GetValue(excludes) ?? [], Preserve = parse.GetValue(preserve) ?? [] };
            var report = await sync.PushAsync(parse.GetRequiredValue(local), parse.GetValue(remote) ?? "", options, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, w =>
                {
                    w.WriteStartObject();
                    Paths(w, "uploaded", report.Uploaded);
                    Paths(w, "deleted", report.Deleted);
                    Paths(w, "preserved", report.Preserved);
                    Paths(w, "overwrittenSandboxChanges", report.OverwrittenSandboxChanges);
                    w.WriteNumber("bytesUploaded", report.BytesUploaded);
                    w.WriteEndObject();
                });
                return ExitCodes.Success;
            }
            console.Out.WriteLine($"pushed: {report.Uploaded.Count} uploaded ({Format.Bytes(report.BytesUploaded)}), {report.Deleted.Count} deleted, {report.Preserved.Count} preserved");
            if (report.OverwrittenSandboxChanges.Count > 0)
            {
                console.Error.WriteLine($"hutch: {report.OverwrittenSandboxChanges.Count} change(s) made in the sandbox since the last sync were replaced (pull first to keep them):");
                foreach (var path in report.OverwrittenSandboxChanges)
                {
                    console.Error.WriteLine("  " + SafeText.Show(path));
                }
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Pull(CliConsole console)
    {
        var (id, local, remote, excludes, json) = Common("--from", "Sandbox directory to pull from, relative to /workspace (default: /workspace itself)");
        var command = new Command("pull", "Merge the sandbox's changes since the last sync into LOCALDIR; conflicts keep both versions (exit 1)") { id, local, remote, excludes, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var sandbox = parse.GetRequiredValue(id);
            var sync = new SyncClient(new SandboxRemote(client, sandbox), sandbox);
            var options = new SyncOptions { Excludes = parse.GetValue(excludes) ?? [] };
            var report = await sync.PullAsync(parse.GetRequiredValue(local), parse.GetValue(remote) ?? "", options, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, w =>
                {
                    w.WriteStartObject();
                    Paths(w, "taken", report.Taken);
                    Paths(w, "kept", report.Kept);
                    Paths(w, "deletedLocally", report.DeletedLocally);
                    w.WriteStartArray("conflicts");
                    foreach (var conflict in report.Conflicts)
                    {
                        w.WriteStartObject();
                        w.WriteString("path", conflict.Path);
                        w.WriteString("kind", conflict.Kind.ToString());
                        if (conflict.SandboxCopy is { } copy)
                        {
                            w.WriteString("sandboxCopy", copy);
                        }
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteNumber("bytesDownloaded", report.BytesDownloaded);
                    w.WriteEndObject();
                });
            }
            else
            {
                console.Out.WriteLine($"pulled: {report.Taken.Count} taken from the sandbox ({Format.Bytes(report.BytesDownloaded)}), {report.Kept.Count} local changes kept, {report.DeletedLocally.Count} deleted locally, {report.Conflicts.Count} conflicts");
                foreach (var conflict in report.Conflicts)
                {
                    var where = conflict.SandboxCopy is { } copy ? $"sandbox version in {SafeText.Show(copy)}" : "local version kept";
                    console.Out.WriteLine($"C {SafeText.Show(conflict.Path)}  ({Describe(conflict.Kind)}; {where})");
                }
            }
            return report.HasConflicts ? ExitCodes.Failure : ExitCodes.Success;
        });
        return command;
    }

    private static (Argument<string> Id, Argument<string> Local, Option<string?> Remote, Option<string[]> Excludes, Option<bool> Json) Common(string remoteName, string remoteDescription) => (
        new Argument<string>("id") { Description = "The sandbox's id or name" },
        new Argument<string>("localdir") { Description = "The local directory" },
        new Option<string?>(remoteName) { Description = remoteDescription, HelpName = "DIR" },
        new Option<string[]>("--exclude", "-x") { Description = "Paths never synced on either side (gitignore-style pattern, repeatable), e.g. node_modules/", HelpName = "PATTERN" },
        CommonOptions.Json());

    private static string Describe(SyncConflictKind kind) => kind switch
    {
        SyncConflictKind.BothChanged => "changed on both sides",
        SyncConflictKind.DeletedLocallyChangedInSandbox => "deleted here, changed in the sandbox",
        _ => "changed here, deleted in the sandbox",
    };

    private static void Paths(System.Text.Json.Utf8JsonWriter writer, string name, IReadOnlyList<string> paths)
    {
        writer.WriteStartArray(name);
        foreach (var path in paths)
        {
            writer.WriteStringValue(path);
        }
        writer.WriteEndArray();
    }
}
