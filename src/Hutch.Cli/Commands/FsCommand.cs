using System.CommandLine;
using System.Globalization;
using System.Text;
using Hutch.Cli.Files;
using Hutch.Cli.Output;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch fs ls|cat|stat|write|mkdir|rm|mv ID PATH…`: one path of a sandbox's /workspace at a time, over
/// the files API. Paths are relative to /workspace: 'src/a.py', '/src/a.py' and '/workspace/src/a.py'
/// are one file.
/// </summary>
internal static class FsCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("fs", "Work with the files of a sandbox's /workspace: ls, cat, stat, write, mkdir, rm, mv")
        {
            List(console), Cat(console), Stat(console), Write(console), MakeDirectory(console), Remove(console), Move(console),
        };
        command.Aliases.Add("files");
        return command;
    }

    private static Argument<string> Id() => new("id") { Description = "The sandbox's id or name" };

    private static Argument<string> WorkspacePath(string name, string description) => new(name) { Description = description + ", relative to /workspace" };

    private static Command List(CliConsole console)
    {
        var id = Id();
        var path = new Argument<string>("path")
        {
            Description = "The directory (or file) to list, relative to /workspace (default: /workspace)",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => "",
        };
        var recursive = new Option<bool>("--recursive", "-r") { Description = "List subdirectories too (never through symlinks)" };
        var all = new Option<bool>("--all", "-a") { Description = "Include names that start with '.'" };
        var json = CommonOptions.Json();
        var command = new Command("ls", "List a directory: type, mode, size, modified time and path of each entry") { id, path, recursive, all, json };
        command.Aliases.Add("list");

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var list = await client.ListFilesAsync(parse.GetRequiredValue(id), parse.GetValue(path) ?? "", parse.GetValue(recursive),
                hidden: parse.GetValue(all), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, list, JsonOutput.Context.FileList);
                return ExitCodes.Success;
            }
            console.Out.Write(Render(list));
            if (list.Truncated)
            {
                console.Error.WriteLine($"hutch: the listing stops after {list.Entries.Count} entries; list a subdirectory for the rest");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    public static string Render(FileList list)
    {
        var table = new Table("TYPE", "MODE", "SIZE", "MODIFIED", "PATH");
        foreach (var entry in list.Entries)
        {
            table.Add(
                TypeName(entry.Type),
                entry.Mode,
                entry.Type == FileTypes.Directory ? "-" : Format.Bytes(entry.Size),
                Format.Instant(entry.Mtime),
                SafeText.Show(entry.Path) + (entry.Target is { } target ? " -> " + SafeText.Show(target) : ""));
        }
        return table.ToString();
    }

    private static string TypeName(string type) => type switch
    {
        FileTypes.Directory => "dir",
        FileTypes.Symlink => "link",
        _ => type,
    };

    private static Command Cat(CliConsole console)
    {
        var id = Id();
        var path = WorkspacePath("path", "The file to print");
        var json = new Option<bool>("--json") { Description = "Print the API's FileContent (UTF-8 text or base64; up to 10 MiB) instead of the raw bytes" };
        var command = new Command("cat", "Print a file's bytes to stdout, exactly as stored (binary safe)") { id, path, json };

        command.SetAction((parse, cancellationToken) => LocalFiles.GuardAsync(async () =>
        {
            using var client = Connection.Connect(parse);
            var sandbox = parse.GetRequiredValue(id);
            if (parse.GetValue(json))
            {
                var content = await client.ReadFileAsync(sandbox, parse.GetRequiredValue(path), cancellationToken: cancellationToken).ConfigureAwait(false);
                JsonOutput.Write(console.Out, content, JsonOutput.Context.FileContent);
                return ExitCodes.Success;
            }
            await using var download = new RemoteStream(await client.DownloadAsync(sandbox, parse.GetRequiredValue(path), cancellationToken).ConfigureAwait(false));
            var stdout = console.OpenStdout();
            await download.CopyToAsync(stdout, cancellationToken).ConfigureAwait(false);
            await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Stat(CliConsole console)
    {
        var id = Id();
        var path = WorkspacePath("path", "The entry to describe");
        var json = CommonOptions.Json();
        var command = new Command("stat", "Describe one entry (a symlink is described, not followed)") { id, path, json };

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var entry = await client.StatAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(path), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, entry, JsonOutput.Context.FileEntry);
            }
            else
            {
                console.Out.Write(Render(entry));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    public static string Render(FileEntry entry)
    {
        var text = new StringBuilder();
        void Line(string key, string value) => text.Append(key.PadRight(9)).Append(value).Append('\n');

        Line("path", entry.Path.Length == 0 ? "/workspace" : SafeText.Show(entry.Path));
        Line("type", entry.Type);
        Line("size", $"{Format.Bytes(entry.Size)} ({entry.Size.ToString(CultureInfo.InvariantCulture)} bytes)");
        Line("mode", entry.Mode);
        Line("modified", Format.Instant(entry.Mtime));
        if (entry.Target is { } target)
        {
            Line("target", SafeText.Show(target));
        }
        return text.ToString();
    }

    private static Command Write(CliConsole console)
    {
        var id = Id();
        var path = WorkspacePath("path", "The file to write");
        var mode = new Option<string?>("--mode", "-m")
        {
            Description = "Permission bits in octal, e.g. 0755 (default: the replaced file's, else 0644)",
            HelpName = "MODE",
        };
        mode.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string?>();
            if (value is not null && !IsOctalMode(value))
            {
                result.AddError($"--mode '{value}' is not octal permission bits: write it like 0644 or 0755.");
            }
        });
        var json = CommonOptions.Json();
        var command = new Command("write", "Write stdin to a file, streamed; it appears whole or not at all: hutch fs write ID run.sh --mode 0755 < run.sh")
        {
            id, path, mode, json,
        };

        command.SetAction((parse, cancellationToken) => LocalFiles.GuardAsync(async () =>
        {
            await using var stdin = LocalFiles.OpenInput(console, null, "hutch fs write ID PATH < file");
            using var client = Connection.Connect(parse);
            var written = await client.UploadAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(path), stdin, parse.GetValue(mode),
                cancellationToken: cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, written, JsonOutput.Context.FileWritten);
            }
            return ExitCodes.Success;
        }));
        return command;
    }

    /// <summary>Octal permission bits as the daemon takes them: "644", "0755", "0o700".</summary>
    public static bool IsOctalMode(string mode)
    {
        var digits = mode.StartsWith("0o", StringComparison.OrdinalIgnoreCase) ? mode[2..] : mode;
        return digits.Length is >= 1 and <= 5 && digits.All(c => c is >= '0' and <= '7');
    }

    private static Command MakeDirectory(CliConsole console)
    {
        var id = Id();
        var path = WorkspacePath("path", "The directory to create");
        var parents = new Option<bool>("--parents", "-p") { Description = "Create missing parents too, and accept a directory that exists" };
        var json = CommonOptions.Json();
        var command = new Command("mkdir", "Create a directory") { id, path, parents, json };

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var entry = await client.MakeDirectoryAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(path), parse.GetValue(parents), cancellationToken)
                .ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, entry, JsonOutput.Context.FileEntry);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Remove(CliConsole console)
    {
        var id = Id();
        var path = WorkspacePath("path", "The file, symlink or directory to delete");
        var recursive = new Option<bool>("--recursive", "-r") { Description = "Delete a directory and everything in it" };
        var force = new Option<bool>("--force", "-f") { Description = "Succeed when the path does not exist" };
        var json = CommonOptions.Json();
        var command = new Command("rm", "Delete a file or symlink, or a directory with -r") { id, path, recursive, force, json };
        command.Aliases.Add("delete");

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var target = parse.GetRequiredValue(path);
            var deleted = true;
            try
            {
                await client.DeleteFileAsync(parse.GetRequiredValue(id), target, parse.GetValue(recursive), cancellationToken).ConfigureAwait(false);
            }
            catch (HutchApiException e) when (e.Code == ErrorCodes.PathNotFound && parse.GetValue(force))
            {
                deleted = false;
            }
            catch (HutchApiException e) when (e.Code == ErrorCodes.DirectoryNotEmpty)
            {
                // The daemon's hint names the API's ?recursive=true; here the way is the flag.
                throw new CliException(e.Code, $"The directory '{target}' is not empty. Delete it and everything in it with --recursive (-r).");
            }
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, w =>
                {
                    w.WriteStartObject();
                    w.WriteString("path", target);
                    w.WriteBoolean("deleted", deleted);
                    w.WriteEndObject();
                });
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Move(CliConsole console)
    {
        var id = Id();
        var from = WorkspacePath("from", "What to move");
        var to = WorkspacePath("to", "Its new path (missing parents are created)");
        var force = new Option<bool>("--force", "-f") { Description = "Replace an existing file at the new path" };
        var json = CommonOptions.Json();
        var command = new Command("mv", "Move or rename a file or directory, atomically") { id, from, to, force, json };
        command.Aliases.Add("move");

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var entry = await client.MoveAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(from), parse.GetRequiredValue(to), parse.GetValue(force),
                cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, entry, JsonOutput.Context.FileEntry);
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
