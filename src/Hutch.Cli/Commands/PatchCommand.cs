using System.CommandLine;
using System.Text;
using Hutch.Cli.Files;
using Hutch.Cli.Output;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch patch ID [PATCHFILE]`: applies a unified diff (`git diff`, `diff -u`) to the workspace, all or
/// nothing, and prints the files it changed. A hunk that does not apply fails the whole patch with the
/// daemon's message, which names the file and the hunk.
/// </summary>
internal static class PatchCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var patchFile = new Argument<string?>("patchfile")
        {
            Description = "The unified diff, paths relative to /workspace (default: stdin)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var json = CommonOptions.Json();
        var command = new Command("patch", "Apply a unified diff to a sandbox's /workspace, all or nothing: git diff | hutch patch ID") { id, patchFile, json };

        command.SetAction((parse, cancellationToken) => LocalFiles.GuardAsync(async () =>
        {
            string patch;
            await using (var input = LocalFiles.OpenInput(console, parse.GetValue(patchFile), "git diff | hutch patch ID"))
            using (var reader = new StreamReader(input, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
            {
                patch = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            }
            using var client = Connection.Connect(parse);
            var result = await client.ApplyPatchAsync(parse.GetRequiredValue(id), patch, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, result, JsonOutput.Context.PatchResult);
            }
            else
            {
                console.Out.Write(Changes.Render(result));
            }
            return ExitCodes.Success;
        }));
        return command;
    }
}
