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
    /// <param name="only">
    /// The top-level command the line invokes (a name or alias, see <see cref="Invoked"/>): only its
    /// subtree is built, null for the whole tree. The others' were about a tenth of the instructions of
    /// a `hutch exec`; the one subtree parses, helps and fails on its line exactly as the whole tree does.
    /// </param>
    public static RootCommand BuildRoot(CliConsole console, IEngineHost? engine = null, string? only = null)
    {
        engine ??= new EngineHandoff([]);
        var root = new RootCommand("Hutch: isolated Linux sandboxes for AI agents.");
        foreach (var (names, create) in TopLevel)
        {
            if (only is null || names.Contains(only))
            {
                root.Subcommands.Add(create(console, engine));
            }
        }
        Connection.AddOptionsTo(root);
        return root;
    }

    /// <summary>
    /// The top-level commands in help's order, each with every word that names it (its name, then its
    /// aliases), so the one a line invokes is found before any is built. ParsingTests pins these words
    /// to the commands' own.
    /// </summary>
    internal static readonly (string[] Names, Func<CliConsole, IEngineHost, Command> Create)[] TopLevel =
    [
        (["serve"], (_, engine) => ServeCommand.Create(engine)),
        (["create"], (console, _) => CreateCommand.Create(console)),
        (["ls", "list"], (console, _) => ListCommand.Create(console)),
        (["info", "inspect"], (console, _) => InfoCommand.Create(console)),
        (["events"], (console, _) => EventsCommand.Create(console)),
        (["rm", "delete"], (console, _) => RemoveCommand.Create(console)),
        (["ttl"], (console, _) => TtlCommand.Create(console)),
        (["net"], (console, _) => NetCommand.Create(console)),
        (["secret", "secrets"], (console, _) => SecretCommand.Create(console)),
        (["template", "templates"], (console, _) => TemplateCommand.Create(console)),
        (["artifacts", "artifact"], (console, _) => ArtifactsCommand.Create(console)),
        (["bundle", "bundles"], (console, _) => BundleCommand.Create(console)),
        (["exec"], (console, _) => ExecCommand.Create(console)),
        (["output"], (console, _) => OutputCommand.Create(console)),
        (["run"], (console, engine) => RunCommand.Create(console, engine)),
        (["shell"], (console, _) => ShellCommand.Create(console)),
        (["fs", "files"], (console, _) => FsCommand.Create(console)),
        (["cp"], (console, _) => CopyCommand.Create(console)),
        (["import"], (console, _) => ImportCommand.Create(console)),
        (["export"], (console, _) => ExportCommand.Create(console)),
        (["patch"], (console, _) => PatchCommand.Create(console)),
        (["diff"], (console, _) => DiffCommand.Create(console)),
        (["reset"], (console, _) => ResetCommand.Create(console)),
        (["checkpoint", "checkpoints"], (console, _) => CheckpointCommand.Create(console)),
        (["port-forward"], (console, _) => PortForwardCommand.Create(console)),
        (["sync"], (console, _) => SyncCommand.Create(console)),
        (["proc", "process"], (console, _) => ProcessCommand.Create(console)),
        (["session", "sessions"], (console, _) => SessionCommand.Create(console)),
        (["service", "services"], (console, _) => ServiceCommand.Create(console)),
        (["doctor"], (console, engine) => DoctorCommand.Create(console, engine)),
        (["mcp"], (_, engine) => McpCommand.Create(engine)),
    ];

    /// <summary>
    /// The top-level command a line invokes: its first word when that names one, else null (no
    /// command, an option such as --help, a response file, a typo: those need the whole tree).
    /// </summary>
    internal static string? Invoked(string[] args) =>
        args.Length > 0 && Array.Exists(TopLevel, command => command.Names.Contains(args[0])) ? args[0] : null;

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
        // `hutch exec ID -- PROGRAM…`, the line a harness sends most, is read without the parser (ExecCommand.Plain).
        var plain = ExecCommand.Plain(args);
        ParseResult? parse = null;
        if (plain is null)
        {
            parse = BuildRoot(console, engine ?? new EngineHandoff(args), Invoked(args)).Parse(args);
            var misspelt = CommonOptions.OptionTakenAsProgram(args, parse);
            if (parse.Action is ParseErrorAction || misspelt is not null)
            {
                foreach (var error in misspelt is null ? parse.Errors.Select(e => e.Message) : [misspelt])
                {
                    console.Fail(error);
                }
                var command = parse.CommandResult.Command;
                console.Error.WriteLine(command is RootCommand ? "Run `hutch --help` for the commands." : $"Run `hutch {CommandPath(parse.CommandResult)} --help` for its usage.");
                return ExitCodes.Usage;
            }
        }

        using var interrupts = new Interrupts();
        try
        {
            return plain is not null
                ? await ExecCommand.InvokeAsync(console, plain, interrupts.Token).ConfigureAwait(false)
                : await parse!.InvokeAsync(Configuration(console), interrupts.Token).ConfigureAwait(false);
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

    private static InvocationConfiguration Configuration(CliConsole console) => new()
    {
        // Signals are ours (Interrupts): `run` must get to delete its sandbox however long that takes.
        ProcessTerminationTimeout = null,
        EnableDefaultExceptionHandler = false,
        Output = console.Out,
        Error = console.Error,
    };
}
