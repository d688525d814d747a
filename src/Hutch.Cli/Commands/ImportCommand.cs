using System.CommandLine;
using Hutch.Cli.Files;
using Hutch.Cli.Output;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch import ID TARFILE [--dir DIR]`: unpacks a tar (plain or gzip; `-` for stdin) into the workspace,
/// streamed. The daemon refuses an unsafe archive whole and leaves nothing of it behind.
/// </summary>
internal static class ImportCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var archive = new Argument<string>("tarfile") { Description = "A tar or tar.gz file, or - for stdin" };
        var directory = new Option<string?>("--dir", "-C") { Description = "Unpack into this directory of /workspace, made if missing (default: /workspace)", HelpName = "DIR" };
        var noBaseline = new Option<bool>("--no-baseline") { Description = "Do not make the result the baseline that `hutch diff` and `hutch reset` compare with" };
        var json = CommonOptions.Json();
        var command = new Command("import", "Unpack a tar into a sandbox's /workspace: hutch import ID project.tgz, or tar -c . | hutch import ID -")
        {
            id, archive, directory, noBaseline, json,
        };

        command.SetAction((parse, cancellationToken) => LocalFiles.GuardAsync(async () =>
        {
            await using var input = LocalFiles.OpenInput(console, parse.GetRequiredValue(archive), "tar -c . | hutch import ID -");
            using var client = Connection.Connect(parse);
            var result = await client.ImportAsync(parse.GetRequiredValue(id), parse.GetValue(directory) ?? "", input, !parse.GetValue(noBaseline),
                cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, result, JsonOutput.Context.ImportResult);
            }
            else
            {
                console.Out.WriteLine($"imported {result.Entries} entries ({Format.Bytes(result.Bytes)}) into /workspace{(result.Path.Length == 0 ? "" : "/" + SafeText.Show(result.Path))}");
            }
            return ExitCodes.Success;
        }));
        return command;
    }
}
