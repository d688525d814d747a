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

        command.SetAction(async (parse, cancellationToken) =>
        {
            var stdinMode = io.StdinModeOf(parse);
            var request = new ExecRequest(
                Argv: parse.GetValue(argv) is { Length: > 0 } a ? a : null,
                Command: parse.GetValue(shell) ?? ReadShellFile(parse.GetValue(shellFile)),
                Cwd: parse.GetValue(cwd),
                Env: CommonOptions.ToEnv(parse.GetValue(env)),
                TimeoutMs: CommonOptions.ToTimeoutMs(parse.GetValue(timeout)),
                MaxOutputBytes: parse.GetValue(io.MaxOutput),
                // hutch going away (Ctrl-C, SIGTERM, `| head` closing, a crash) disconnects; by default
                // that kills the command's tree, as ending a local command's terminal would.
                KillOnDisconnect: !parse.GetValue(keepRunning));
            var run = RunAsync(console, parse, parse.GetRequiredValue(id), request, stdinMode, io.Cap(parse), parse.GetValue(json), cancellationToken);
            try
            {
                // A signal ends hutch now, whatever it waits on (a write to a reader that does not read, a
                // stdin that never closes): exiting closes the connection, which is what stops the command.
                return await run.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && request.KillOnDisconnect == false)
            {
                console.Fail($"interrupted; the command runs on in sandbox {parse.GetRequiredValue(id)} (--keep-running)");
                throw;
            }
        });
        return command;
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

    private static async Task<int> RunAsync(CliConsole console, ParseResult parse, string sandbox, ExecRequest request, StdinMode stdinMode, OutputCap cap, bool json,
        CancellationToken cancellationToken)
    {
        request = request with { StdinBase64 = await Stdin.ReadAsync(console, stdinMode, cancellationToken).ConfigureAwait(false) };
        var endpoint = Connection.Endpoint(parse);
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
