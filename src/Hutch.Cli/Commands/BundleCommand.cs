using System.CommandLine;
using System.Globalization;
using Hutch.Cli.Output;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>`hutch bundle push|ls|show|rm|use`: named, versioned read-only directories sandboxes mount (docs/bundles.md).</summary>
internal static class BundleCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("bundle", "Bundles: versioned read-only directories (skills, prompts, datasets, tools) sandboxes mount (docs/bundles.md)")
        {
            Push(console),
            List(console),
            Show(console),
            Remove(console),
            Use(console),
        };
        command.Aliases.Add("bundles");
        return command;
    }

    /// <summary>"NAME" or "NAME@VERSION".</summary>
    private static (string Name, string? Version) Split(string reference) =>
        reference.IndexOf('@', StringComparison.Ordinal) is var at and >= 0 ? (reference[..at], reference[(at + 1)..]) : (reference, null);

    private static Command Push(CliConsole console)
    {
        var directory = new Argument<string>("directory") { Description = "The directory to push (its contents become the bundle's root)" };
        var name = new Option<string>("--name") { Description = "The bundle's name ([a-z0-9._-], 1-63): each push makes its next version", HelpName = "NAME", Required = true };
        var exclude = new Option<string[]>("--exclude")
        {
            Description = "Leave out what matches: a pattern without '/' matches any name (*.pyc, .git), one with '/' the path from the directory; repeatable",
            HelpName = "GLOB",
            AllowMultipleArgumentsPerToken = false,
        };
        var follow = new Option<bool>("--follow-symlinks") { Description = "Push what symbolic links point to instead of the links (default: links are kept as links)" };
        var json = CommonOptions.Json();
        var command = new Command("push", "Push a directory as a bundle's next version; files stored already (in any version) are not stored again")
        {
            directory, name, exclude, follow, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var dir = parse.GetRequiredValue(directory);
            if (!Directory.Exists(dir))
            {
                throw new CliException(ErrorCodes.InvalidRequest, $"{dir} is not a directory: give the directory whose contents the bundle holds.", ExitCodes.Usage);
            }
            using var client = Connection.Connect(parse);
            var pushed = await client.PushBundleAsync(dir, parse.GetRequiredValue(name),
                new BundleDirectoryOptions(parse.GetValue(exclude), parse.GetValue(follow)), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, pushed, JsonOutput.Context.BundlePushResult);
                return ExitCodes.Success;
            }
            console.Out.WriteLine($"{pushed.Name}@{pushed.Version}: {pushed.Files} files, {Format.Bytes(pushed.Bytes)} ({pushed.NewFiles} new to the store), {pushed.Digest}");
            foreach (var warning in pushed.Warnings ?? [])
            {
                console.Error.WriteLine($"warning: {SafeText.Show(warning)}");
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CliConsole console)
    {
        var json = CommonOptions.Json();
        var command = new Command("ls", "List bundles: their newest version, how many versions, and how many sandboxes mount them") { json };
        command.Aliases.Add("list");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var bundles = await client.ListBundlesAsync(cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, new BundleList([.. bundles]), JsonOutput.Context.BundleList);
                return ExitCodes.Success;
            }
            if (bundles.Count == 0)
            {
                console.Out.WriteLine("no bundles (push one with `hutch bundle push DIR --name NAME`)");
                return ExitCodes.Success;
            }
            var table = new Table("BUNDLE", "LATEST", "VERSIONS", "FILES", "SIZE", "IN USE");
            foreach (var b in bundles)
            {
                var latest = b.Versions[^1];
                table.Add(b.Name, b.Latest.ToString(CultureInfo.InvariantCulture), b.Versions.Length.ToString(CultureInfo.InvariantCulture),
                    latest.Files.ToString(CultureInfo.InvariantCulture), Format.Bytes(latest.Bytes),
                    b.Versions.Sum(v => v.Sandboxes.Length).ToString(CultureInfo.InvariantCulture));
            }
            console.Out.Write(table.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show(CliConsole console)
    {
        var name = new Argument<string>("name") { Description = "The bundle" };
        var json = CommonOptions.Json();
        var command = new Command("show", "Show a bundle's versions and which sandboxes mount each") { name, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var bundle = await client.GetBundleAsync(parse.GetRequiredValue(name), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, bundle, JsonOutput.Context.BundleInfo);
                return ExitCodes.Success;
            }
            var table = new Table("VERSION", "FILES", "SIZE", "DIGEST", "CREATED", "SANDBOXES");
            foreach (var v in bundle.Versions)
            {
                table.Add(v.Version.ToString(CultureInfo.InvariantCulture), v.Files.ToString(CultureInfo.InvariantCulture), Format.Bytes(v.Bytes),
                    v.Digest[..Math.Min(19, v.Digest.Length)], Format.Instant(v.CreatedAt), v.Sandboxes.Length == 0 ? "-" : string.Join(',', v.Sandboxes));
            }
            console.Out.Write(table.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Remove(CliConsole console)
    {
        var reference = new Argument<string>("bundle") { Description = "NAME@VERSION, or NAME for every version" };
        var command = new Command("rm", "Delete a bundle's version, or all of them; refused while a sandbox mounts one") { reference };
        command.Aliases.Add("delete");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var (name, version) = Split(parse.GetRequiredValue(reference));
            long? number = null;
            if (version is not null)
            {
                number = long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n
                    : throw new CliException(ErrorCodes.InvalidBundle, $"'{SafeText.Show(version)}' is not a version number: give NAME@3, or NAME for every version.", ExitCodes.Usage);
            }
            using var client = Connection.Connect(parse);
            await client.DeleteBundleAsync(name, number, cancellationToken).ConfigureAwait(false);
            console.Out.WriteLine($"{parse.GetRequiredValue(reference)}: deleted");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Use(CliConsole console)
    {
        var sandbox = new Argument<string>("sandbox") { Description = "Sandbox id or name" };
        var reference = new Argument<string>("bundle") { Description = "NAME@VERSION, or NAME for its newest version" };
        var path = new Option<string?>("--path") { Description = "For a bundle the sandbox does not mount yet: where under /bundles (default /bundles/NAME)", HelpName = "PATH" };
        var json = CommonOptions.Json();
        var command = new Command("use", "Mount a bundle in a running sandbox, or switch the one it mounts to another version, without a restart")
        {
            sandbox, reference, path, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var (name, version) = Split(parse.GetRequiredValue(reference));
            long? number = null;
            if (version is not null and not BundleLocations.Latest)
            {
                number = long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n
                    : throw new CliException(ErrorCodes.InvalidBundle, $"'{SafeText.Show(version)}' is not a version number: give NAME@3, NAME@latest or NAME.", ExitCodes.Usage);
            }
            using var client = Connection.Connect(parse);
            var mounted = await client.SetSandboxBundleAsync(parse.GetRequiredValue(sandbox), name, number, parse.GetValue(path), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, mounted, JsonOutput.Context.SandboxBundleInfo);
                return ExitCodes.Success;
            }
            console.Out.WriteLine($"{mounted.Name}@{mounted.Version} at {mounted.Path}");
            return ExitCodes.Success;
        });
        return command;
    }
}
