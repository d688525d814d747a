using System.CommandLine;
using Hutch.Cli.Exec;
using Hutch.Cli.Output;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch exec ID -- argv…`: runs a command in a sandbox with its output streamed to this terminal,
/// and exits with the command's status (124 on timeout, 128+N on signal N, 250 when output was cut).
/// </summary>
internal static class ExecCommand
{
    public static Command Create(CliConsole console)
    {
        var (command, read) = Define();
        command.SetAction((parse, cancellationToken) => InvokeAsync(console, read(parse), cancellationToken));
        return command;
    }

    /// <summary>The command's symbols, and how a parse of them becomes an <see cref="ExecInvocation"/> (ParsingTests compares it with <see cref="Plain"/>).</summary>
    internal static (Command Command, Func<ParseResult, ExecInvocation> Read) Define()
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var argv = CommonOptions.Argv();
        var shell = CommonOptions.Shell();
        var shellFile = CommonOptions.ShellFile();
        var cwd = new Option<string?>("--cwd", "-w") { Description = "Working directory, inside /workspace", HelpName = "DIR" };
        var env = CommonOptions.Env("Extra environment for this command");
        var timeout = CommonOptions.Timeout();
        var io = new CommandIoOptions();
        var keepRunning = new Option<bool>("--keep-running")
        {
            Description = "When hutch ends before the command (a signal, its output closed, the connection lost), leave the command running instead of killing it",
        };
        var json = CommonOptions.Json();
        var command = new Command("exec", "Run a command in a sandbox: hutch exec ID -- ls -la")
        {
            id, argv, shell, shellFile, cwd, env, timeout, keepRunning, json,
        };
        io.AddTo(command);
        CommonOptions.RequireOneCommand(command, argv, shell, "hutch exec ID -- ls -la", shellFile);

        return (command, parse => new ExecInvocation(
            parse.GetRequiredValue(id),
            new ExecRequest(
                Argv: parse.GetValue(argv) is { Length: > 0 } a ? a : null,
                Command: parse.GetValue(shell) ?? ReadShellFile(parse.GetValue(shellFile)),
                Cwd: parse.GetValue(cwd),
                Env: CommonOptions.ToEnv(parse.GetValue(env)),
                TimeoutMs: CommonOptions.ToTimeoutMs(parse.GetValue(timeout)),
                MaxOutputBytes: parse.GetValue(io.MaxOutput),
                // hutch going away (Ctrl-C, SIGTERM, `| head` closing, a crash) disconnects; by default
                // that kills the command's tree, as ending a local command's terminal would.
                KillOnDisconnect: !parse.GetValue(keepRunning)),
            io.StdinModeOf(parse),
            io.Cap(parse),
            parse.GetValue(json),
            Connection.GivenIn(parse)));
    }

    /// <summary>
    /// `hutch exec ID -- PROGRAM [ARG…]` without any option, the line a harness sends for every command,
    /// as the parser reads it: the whole of it is the id and argv, so System.CommandLine (its root and
    /// exec's subtree, and the parse: about a tenth of such a run's instructions) is not needed. Null for any other line, or for any token the
    /// parser might read otherwise (an id like an option, /? or a response file, an @ token anywhere):
    /// those go through the parser. ParsingTests pins this to the parser's reading of the same lines.
    /// </summary>
    internal static ExecInvocation? Plain(string[] args)
    {
        if (args is not ["exec", var id, "--", _, ..] || id.Length == 0 || id[0] is '-' or '/' or '@' or '[' || Array.Exists(args, a => a.StartsWith('@')))
        {
            return null;
        }
        return new ExecInvocation(id, new ExecRequest(Argv: args[3..], KillOnDisconnect: true), StdinMode.Auto, OutputCap.Default, Json: false, default);
    }

    /// <summary>Runs an exec; a signal ends the wait at once (see below), with a note when the command runs on.</summary>
    internal static async Task<int> InvokeAsync(CliConsole console, ExecInvocation invocation, CancellationToken cancellationToken)
    {
        var run = RunAsync(console, invocation, cancellationToken);
        try
        {
            // A signal ends hutch now, whatever it waits on (a write to a reader that does not read, a
            // stdin that never closes): exiting closes the connection, which is what stops the command.
            return await run.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && invocation.Request.KillOnDisconnect == false)
        {
            console.Fail($"interrupted; the command runs on in sandbox {invocation.Sandbox} (--keep-running)");
            throw;
        }
    }

    /// <summary>The script of --shell-file as text (the API's command is a string; invalid UTF-8 becomes U+FFFD), or null.</summary>
    private static string? ReadShellFile(string? path)
    {
        if (path is null)
        {
            return null;
        }
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Files.LocalFiles.Failure(e);
        }
    }

    private static async Task<int> RunAsync(CliConsole console, ExecInvocation invocation, CancellationToken cancellationToken)
    {
        var (sandbox, request, stdinMode, cap, json, given) = invocation;
        request = request with { StdinBase64 = await Stdin.ReadAsync(console, stdinMode, cancellationToken).ConfigureAwait(false) };
        var endpoint = Connection.Endpoint(given);
        ExecEnd end;
        if (!json && DirectExec.Supports(endpoint))
        {
            // The usual case, a harness's: no HttpClient, no thread pool (see DirectExec).
            end = ExecEnd.Of(await DirectExec.RunAsync(endpoint, sandbox, request, console.OpenStdout(), console.OpenStderr()).ConfigureAwait(false));
        }
        else if (json)
        {
            using var client = HutchClient.FromEndpoint(endpoint);
            var result = await client.ExecAsync(sandbox, request, cancellationToken).ConfigureAwait(false);
            JsonOutput.Write(console.Out, result, JsonOutput.Context.ExecResult);
            end = ExecEnd.Of(result);
        }
        else
        {
            using var client = HutchClient.FromEndpoint(endpoint);
            var events = client.ExecStreamAsync(sandbox, request, cancellationToken);
            end = ExecEnd.Of(await ExecPump.RunAsync(events, console.OpenStdout(), console.OpenStderr(), cancellationToken).ConfigureAwait(false));
        }
        Stdin.ReportUnread(console, stdinMode);
        return end.Finish(console, cap, sandbox);
    }
}

/// <summary>One `hutch exec` as its command line asks for it.</summary>
/// <param name="Given">--url and --api-key, when given.</param>
internal sealed record ExecInvocation(string Sandbox, ExecRequest Request, StdinMode StdinMode, OutputCap Cap, bool Json, Connection.Given Given);
