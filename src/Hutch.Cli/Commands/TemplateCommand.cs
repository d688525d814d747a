using System.CommandLine;
using System.Globalization;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>`hutch template ls|show|rm|prune`: the templates a sandbox's root can be made from (docs/templates.md).</summary>
internal static class TemplateCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("template", "Templates: immutable roots a sandbox is made from, writable per sandbox (docs/templates.md)")
        {
            Import(console),
            TemplateBuildCommand.Create(console),
            Debian(console),
            List(console),
            Show(console),
            Remove(console),
            Prune(console),
        };
        command.Aliases.Add("templates");
        return command;
    }

    private static Argument<string> ReferenceArgument(string what) => new("template") { Description = $"NAME, or NAME:VERSION ({what})" };

    /// <summary>"NAME" or "NAME:VERSION", split at the first colon (names and versions have none).</summary>
    private static (string Name, string? Version) Split(string reference) =>
        reference.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0 ? (reference[..colon], reference[(colon + 1)..]) : (reference, null);

    private static Command Import(CliConsole console)
    {
        var file = new Argument<string>("archive") { Description = "An image archive: oci-layout or docker-archive tar, plain or gzip (buildah push … oci-archive:FILE, skopeo copy, docker save)" };
        var name = new Option<string>("--name") { Description = "The template's NAME, or NAME:VERSION (default version: the next number)", HelpName = "TEMPLATE", Required = true };
        var rootfs = new Option<bool>("--rootfs") { Description = "The archive is a root file system's tar (mmdebstrap, docker export), not an image" };
        var json = CommonOptions.Json();
        var command = new Command("import", "Make a template from an image archive; its layers are checked as hostile input") { file, name, rootfs, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var (template, version) = Split(parse.GetRequiredValue(name));
            await using var archive = File.OpenRead(parse.GetRequiredValue(file));
            using var client = Connection.Connect(parse);
            var t = await client.ImportTemplateAsync(archive, template, version, parse.GetValue(rootfs), cancellationToken).ConfigureAwait(false);
            PrintImported(console, t, parse.GetValue(json));
            return ExitCodes.Success;
        });
        return command;
    }

    private static void PrintImported(CliConsole console, TemplateInfo t, bool json)
    {
        if (json)
        {
            JsonOutput.Write(console.Out, t, JsonOutput.Context.TemplateInfo);
            return;
        }
        console.Out.WriteLine($"{t.Name}:{t.Version}: {t.Layers} layer{(t.Layers == 1 ? "" : "s")}, {t.Digest}");
    }

    private static Command Debian(CliConsole console)
    {
        var name = new Option<string?>("--name") { Description = "The template's NAME, or NAME:VERSION (default: debian:SUITE)", HelpName = "TEMPLATE" };
        var suite = new Option<string?>("--suite") { Description = "The Debian release (default: this host's, e.g. bookworm)", HelpName = "SUITE" };
        var mirror = new Option<string?>("--mirror") { Description = "The package mirror (default: the one this host's apt uses for that release)", HelpName = "URI" };
        var save = new Option<string?>("--save") { Description = "Only write the root file system's tar to FILE (no daemon needed); import it later with --rootfs", HelpName = "FILE" };
        var include = new Option<string[]>("--include")
        {
            Description = "Packages to install in the base too, with what they depend on (e.g. python3-pip); comma-separated or repeated",
            HelpName = "PKG[,PKG...]",
            AllowMultipleArgumentsPerToken = false,
        };
        var json = CommonOptions.Json();
        var command = new Command("debian", "Make a Debian base template on this host with mmdebstrap (minbase, apt included), from this host's package mirror")
        {
            name, suite, mirror, save, include, json,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var release = parse.GetValue(suite) ?? DebianBase.HostSuite()
                ?? throw new CliException(ErrorCodes.InvalidRequest, "This host names no Debian release (/etc/os-release): give --suite bookworm, say.", ExitCodes.Usage);
            var source = parse.GetValue(mirror) ?? DebianBase.HostMirror(release)
                ?? throw new CliException(ErrorCodes.InvalidRequest, $"This host's apt has no source for '{release}' (/etc/apt/sources.list, sources.list.d): give --mirror URI.", ExitCodes.Usage);
            var packages = DebianBase.Packages(parse.GetValue(include) ?? []);
            var target = parse.GetValue(save);
            var tar = target ?? Path.Join(Path.GetTempPath(), $"hutch-debian-{Guid.NewGuid():N}.tar");
            try
            {
                await DebianBase.MakeAsync(release, source, packages, tar, console.Error, cancellationToken).ConfigureAwait(false);
                if (target is not null)
                {
                    console.Out.WriteLine($"{target}: a {release} root file system (import it with: hutch template import {target} --rootfs --name debian:{release})");
                    return ExitCodes.Success;
                }
                var (template, version) = Split(parse.GetValue(name) ?? $"debian:{release}");
                await using var archive = File.OpenRead(tar);
                using var client = Connection.Connect(parse);
                var t = await client.ImportTemplateAsync(archive, template, version, rootfs: true, cancellationToken).ConfigureAwait(false);
                PrintImported(console, t, parse.GetValue(json));
                return ExitCodes.Success;
            }
            finally
            {
                if (target is null)
                {
                    File.Delete(tar);
                }
            }
        });
        return command;
    }

    private static Command List(CliConsole console)
    {
        var json = CommonOptions.Json();
        var command = new Command("ls", "List every version of every template, newest first") { json };
        command.Aliases.Add("list");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var templates = await client.ListTemplatesAsync(cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, new TemplateList([.. templates]), JsonOutput.Context.TemplateList);
                return ExitCodes.Success;
            }
            if (templates.Count == 0)
            {
                console.Out.WriteLine("no templates");
                return ExitCodes.Success;
            }
            var table = new Table("TEMPLATE", "DIGEST", "SOURCE", "LAYERS", "CREATED", "IN USE");
            foreach (var t in templates)
            {
                table.Add($"{t.Name}:{t.Version}", t.Digest[..Math.Min(19, t.Digest.Length)], t.Source,
                    t.Layers.ToString(CultureInfo.InvariantCulture), Format.Instant(t.CreatedAt), t.InUse.ToString(CultureInfo.InvariantCulture));
            }
            console.Out.Write(table.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Show(CliConsole console)
    {
        var reference = ReferenceArgument("default: its newest version");
        var json = CommonOptions.Json();
        var command = new Command("show", "Show one template's version") { reference, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var (name, version) = Split(parse.GetRequiredValue(reference));
            using var client = Connection.Connect(parse);
            var t = await client.GetTemplateAsync(name, version, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, t, JsonOutput.Context.TemplateInfo);
                return ExitCodes.Success;
            }
            console.Out.WriteLine(
                $"template  {t.Name}:{t.Version}\ndigest    {t.Digest}\nsource    {t.Source}\nlayers    {t.Layers}\ncreated   {Format.Instant(t.CreatedAt)}\n"
                + $"in use    {t.InUse}\nenv       {(t.Env.Count == 0 ? "-" : string.Join(' ', t.Env.Select(e => SafeText.Show($"{e.Key}={e.Value}"))))}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Remove(CliConsole console)
    {
        var reference = ReferenceArgument("without a version: every version");
        var command = new Command("rm", "Delete a template's version, or all of them; refused while a sandbox uses one") { reference };
        command.Aliases.Add("delete");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var (name, version) = Split(parse.GetRequiredValue(reference));
            using var client = Connection.Connect(parse);
            await client.DeleteTemplateAsync(name, version, cancellationToken).ConfigureAwait(false);
            console.Out.WriteLine($"{parse.GetRequiredValue(reference)}: deleted");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Prune(CliConsole console)
    {
        var olderThan = new Option<long?>("--cache-older-than")
        {
            Description = "Remove only the build cache entries made longer ago than this: seconds, or 30m, 12h, 7d (default: every entry)",
            HelpName = "DURATION",
            CustomParser = result => Durations.Parse(result, "--cache-older-than"),
        };
        var json = CommonOptions.Json();
        var command = new Command("prune", "Remove the build cache (or its old entries) and every layer no template version uses; never a running sandbox's") { olderThan, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var age = parse.GetValue(olderThan);
            var result = await client.PruneTemplatesAsync(age is { } seconds ? TimeSpan.FromSeconds(seconds) : null, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, result, JsonOutput.Context.TemplatePruneResult);
                return ExitCodes.Success;
            }
            console.Out.WriteLine($"removed {result.CacheEntries} build cache entr{(result.CacheEntries == 1 ? "y" : "ies")} and {result.Layers} layer{(result.Layers == 1 ? "" : "s")} ({Format.Bytes(result.Bytes)})");
            return ExitCodes.Success;
        });
        return command;
    }
}
