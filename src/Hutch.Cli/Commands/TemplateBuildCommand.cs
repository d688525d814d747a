using System.CommandLine;
using System.Formats.Tar;
using System.IO.Pipelines;
using Hutch.Cli.Output;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>`hutch template build -f Dockerfile DIR --name NAME[:VERSION]`: a template from a Dockerfile, its output as it comes.</summary>
internal static class TemplateBuildCommand
{
    public static Command Create(CliConsole console)
    {
        var directory = new Argument<string>("context") { Description = "The build context: the directory COPY and ADD read from (sent as a tar; .dockerignore leaves things out)" };
        var file = new Option<string?>("--file", "-f") { Description = "The Dockerfile (default: DIR/Dockerfile); it must be inside DIR", HelpName = "FILE" };
        var name = new Option<string>("--name", "-t") { Description = "The template's NAME, or NAME:VERSION (default version: the next number)", HelpName = "TEMPLATE", Required = true };
        var buildArgs = new Option<string[]>("--build-arg") { Description = "NAME=VALUE for an ARG of the Dockerfile (repeatable)", HelpName = "NAME=VALUE", AllowMultipleArgumentsPerToken = false };
        var noCache = new Option<bool>("--no-cache") { Description = "Run every step again, taking nothing from the build cache" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only the template's NAME:VERSION at the end (and a failed step's output)" };
        var json = CommonOptions.Json();
        var network = new NetworkOptions();
        var command = new Command("build", "Build a template from a Dockerfile, each RUN in a build sandboxes (default network: the package-registries preset); steps are cached by content")
        {
            directory, file, name, buildArgs, noCache, quiet, json,
        };
        network.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var root = Path.GetFullPath(parse.GetRequiredValue(directory));
            if (!Directory.Exists(root))
            {
                throw new CliException(ErrorCodes.InvalidRequest, $"the build context '{root}' is not a directory", ExitCodes.Usage);
            }
            var dockerfile = Path.GetFullPath(parse.GetValue(file) ?? Path.Join(root, "Dockerfile"));
            var relative = Path.GetRelativePath(root, dockerfile);
            if (relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative))
            {
                throw new CliException(ErrorCodes.InvalidRequest, $"the Dockerfile '{dockerfile}' is not inside the build context '{root}': move it there, or give a context that holds it", ExitCodes.Usage);
            }
            var reference = parse.GetRequiredValue(name);
            var colon = reference.IndexOf(':', StringComparison.Ordinal);
            var args = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in parse.GetValue(buildArgs) ?? [])
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0)
                {
                    throw new CliException(ErrorCodes.InvalidRequest, $"--build-arg {pair}: give NAME=VALUE", ExitCodes.Usage);
                }
                args[pair[..equals]] = pair[(equals + 1)..];
            }
            var options = new TemplateBuildOptions(colon < 0 ? reference : reference[..colon], colon < 0 ? null : reference[(colon + 1)..], relative, args,
                parse.GetValue(noCache), network.ToPolicy(parse));

            // The context streams as a tar while it is made: a large context never sits in memory.
            var pipe = new Pipe();
            var writing = Task.Run(async () =>
            {
                try
                {
                    await TarFile.CreateFromDirectoryAsync(root, pipe.Writer.AsStream(), includeBaseDirectory: false, cancellationToken).ConfigureAwait(false);
                    await pipe.Writer.CompleteAsync().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                }
            }, cancellationToken);
            using var client = Connection.Connect(parse);
            var quietly = parse.GetValue(quiet) || parse.GetValue(json);
            using var stdout = console.OpenStdout();
            var output = new MemoryStream();
            TemplateInfo? made = null;
            await foreach (var e in client.BuildTemplateAsync(pipe.Reader.AsStream(), options, cancellationToken).ConfigureAwait(false))
            {
                switch (e)
                {
                    case BuildStepEvent step when !quietly:
                        await console.Out.WriteLineAsync($"Step {step.Step}/{step.Of} : {step.Instruction}").ConfigureAwait(false);
                        await console.Out.FlushAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case BuildOutputEvent chunk when !quietly:
                        await stdout.WriteAsync(chunk.Data, cancellationToken).ConfigureAwait(false);
                        break;
                    case BuildCachedEvent when !quietly:
                        await console.Out.WriteLineAsync(" ---> cached").ConfigureAwait(false);
                        break;
                    case BuildNetworkEvent network when network.Event.Outcome != NetworkOutcomes.Allowed:
                        // As hutch exec prints them: why apt-get or pip could not reach a host, next to its error.
                        console.Fail($"network: {network.Event.Message}", network.Event.Code);
                        break;
                    case BuildWarningEvent warning:
                        await console.Error.WriteLineAsync("warning: " + warning.Message).ConfigureAwait(false);
                        break;
                    case BuildFinishedEvent finished:
                        made = finished.Template;
                        if (!quietly)
                        {
                            await console.Out.WriteLineAsync($"built {made.Name}:{made.Version} ({made.Layers} layers, {finished.StepsRun} steps run, {finished.StepsCached} cached), {made.Digest}").ConfigureAwait(false);
                        }
                        break;
                }
            }
            await writing.ConfigureAwait(false);
            if (made is null)
            {
                return ExitCodes.Failure;
            }
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, made, JsonOutput.Context.TemplateInfo);
            }
            else if (parse.GetValue(quiet))
            {
                console.Out.WriteLine($"{made.Name}:{made.Version}");
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
