using System.CommandLine;
using Hutch.Cli.Files;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch export ID [PATH] [-o FILE]`: a path of the workspace as a tar, streamed to stdout or a file.
/// A directory's members are relative to it; a file is one member named by its file name.
/// </summary>
internal static class ExportCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var path = new Argument<string>("path")
        {
            Description = "The directory, file or symlink to export, relative to /workspace (default: all of /workspace)",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => "",
        };
        var output = new Option<string?>("--output", "-o") { Description = "Write the tar to this file instead of stdout", HelpName = "FILE" };
        var command = new Command("export", "Write a sandbox's /workspace (or a path in it) as a tar: hutch export ID src -o src.tar, or hutch export ID | tar -x")
        {
            id, path, output,
        };

        command.SetAction((parse, cancellationToken) => LocalFiles.GuardAsync(async () =>
        {
            using var client = Connection.Connect(parse);
            await using var archive = new RemoteStream(await client.ExportAsync(parse.GetRequiredValue(id), parse.GetValue(path) ?? "",
                cancellationToken: cancellationToken).ConfigureAwait(false));
            if (parse.GetValue(output) is { } file and not "-")
            {
                await LocalFiles.WriteAsync(file, archive, LocalFiles.DefaultFileMode, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var stdout = console.OpenStdout();
                await archive.CopyToAsync(stdout, cancellationToken).ConfigureAwait(false);
                await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            return ExitCodes.Success;
        }));
        return command;
    }
}
