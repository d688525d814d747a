using System.CommandLine;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Hutch.Cli.Commands;
using Hutch.Client;
using Hutch.Client.Sync;
using Hutch.Cli.Engines;
using Hutch.Protocol.Api;

namespace Hutch.Cli;

/// <summary>
/// The `hutch` program: builds the command tree, turns usage errors into exit status 2 and every
/// expected failure into one line <c>hutch: message (code)</c> on stderr with exit status 1.
/// </summary>
internal static class HutchCli
{
    /// <param name="engine">serve, doctor and in-process run: hutch-engine's, or by default a handoff to it.</param>
    public static RootCommand BuildRoot(CliConsole console, IEngineHost? engine = null)
    {
        var root = Commands(console, engine ?? new EngineHandoff([]));
        Connection.AddOptionsTo(root);
        return root;
    }

    private static RootCommand Commands(CliConsole console, IEngineHost engine) => new("Hutch: isolated Linux sandboxes for AI agents.")
    {
        ServeCommand.Create(engine),
        CreateCommand.Create(console),
        ListCommand.Create(console),
        InfoCommand.Create(console),
        EventsCommand.Create(console),
        RemoveCommand.Create(console),
        TtlCommand.Create(console),
        NetCommand.Create(console),
        ExecCommand.Create(console),
        OutputCommand.Create(console),
        RunCommand.Create(console, engine),
        ShellCommand.Create(console),
        FsCommand.Create(console),
        CopyCommand.Create(console),
        ImportCommand.Create(console),
        ExportCommand.Create(console),
        PatchCommand.Create(console),
        DiffCommand.Create(console),
        ResetCommand.Create(console),
        CheckpointCommand.Create(console),
        PortForwardCommand.Create(console),
        SyncCommand.Create(console),
        ProcessCommand.Create(console),
        SessionCommand.Create(console),
        ServiceCommand.Create(console),
        DoctorCommand.Create(console, engine),
    };

    /// <summary>"exec", or "fs ls" for a subcommand: the words that name the command on the line.</summary>
    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? r = result; r is CommandResult { Command: not RootCommand } c; r = c.Parent)
        {
            names.Insert(0, c.Command.Name);
        }
        return string.Join(' ', names);
    }

    /// <param name="engine">hutch-engine's own; null in the NativeAOT `hutch`, which hands such commands over to hutch-engine.</param>
    public static async Task<int> RunAsync(string[] args, CliConsole console, IEngineHost? engine = null)
    {
        var parse = BuildRoot(console, engine ?? new EngineHandoff(args)).Parse(args);
        if (parse.Action is ParseErrorAction)
        {
            foreach (var error in parse.Errors)
            {
                console.Fail(error.Message);
            }
            var command = parse.CommandResult.Command;
            console.Error.WriteLine(command is RootCommand ? "Run `hutch --help` for the commands." : $"Run `hutch {CommandPath(parse.CommandResult)} --help` for its usage.");
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
        catch (CodedException e)
        {
            // The daemon's answer, the in-process engine's or file library's failure, sync's or the CLI's own.
            console.Fail(e.Message, e.Code);
            return e is CliException cli ? cli.ExitCode : ExitCodes.Failure;
        }
        catch (IOException e) when (OutputFd.Is(e))
        {
            // The reader of our output has gone (`hutch exec … | head`): end quietly, as a shell's
            // program killed by SIGPIPE does. Leaving closes the connection, which stops a command.
            return ExitCodes.OutputClosed;
        }
    }
}
