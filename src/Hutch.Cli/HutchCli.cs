using System.CommandLine;
using System.CommandLine.Invocation;
using Hutch.Cli.Commands;
using Hutch.Client;
using Hutch.Daemon.Engine;

namespace Hutch.Cli;

/// <summary>
/// The `hutch` program: builds the command tree, turns usage errors into exit status 2 and every
/// expected failure into one line <c>hutch: message (code)</c> on stderr with exit status 1.
/// </summary>
internal static class HutchCli
{
    public static RootCommand BuildRoot(CliConsole console) => new("Hutch: isolated Linux sandboxes for AI agents.")
    {
        ServeCommand.Create(console),
        CreateCommand.Create(console),
        ListCommand.Create(console),
        InfoCommand.Create(console),
        RemoveCommand.Create(console),
        ExecCommand.Create(console),
        RunCommand.Create(console),
        DoctorCommand.Create(console),
    };

    public static async Task<int> RunAsync(string[] args, CliConsole console)
    {
        var parse = BuildRoot(console).Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors)
            {
                console.Fail(error.Message);
            }
            var command = parse.CommandResult.Command;
            console.Error.WriteLine(command is RootCommand ? "Run `hutch --help` for the commands." : $"Run `hutch {command.Name} --help` for its usage.");
            return ExitCodes.Usage;
        }

        using var interrupts = new Interrupts();
        var configuration = new InvocationConfiguration
        {
            // Signals are ours (Interrupts): `run` must get to delete its sandbox however long that takes.
            ProcessTerminationTimeout = null,
            EnableDefaultExceptionHandler = false,
            Output = console.Out,
            Error = console.Error,
        };
        try
        {
            return await parse.InvokeAsync(configuration, interrupts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (interrupts.Token.IsCancellationRequested)
        {
            return interrupts.ExitCode;
        }
        catch (HutchApiException e)
        {
            console.Fail(e.Detail, e.Code);
            return ExitCodes.Failure;
        }
        catch (HutchException e)
        {
            console.Fail(e.Message, e.Code);
            return ExitCodes.Failure;
        }
        catch (CliException e)
        {
            console.Fail(e.Message, e.Code);
            return e.ExitCode;
        }
    }
}
