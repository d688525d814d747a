using System.CommandLine;
using Hutch.Cli.Output;

namespace Hutch.Cli.Commands;

/// <summary>`hutch create`: makes a sandbox on the daemon and prints its id (so `id=$(hutch create)` works).</summary>
internal static class CreateCommand
{
    public static Command Create(CliConsole console)
    {
        var create = new CreateOptions();
        var json = CommonOptions.Json();
        var command = new Command("create", "Create a sandbox and print its id") { json };
        create.AddTo(command);

        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var info = await client.CreateSandboxAsync(create.ToRequest(parse), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, info, JsonOutput.Context.SandboxInfo);
            }
            else
            {
                console.Out.WriteLine(info.Id);
            }
            return ExitCodes.Success;
        });
        return command;
    }
}
