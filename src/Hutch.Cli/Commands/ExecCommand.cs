using System.CommandLine;
using Hutch.Cli.Exec;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch exec ID -- argv…`: runs a command in a sandbox with its output streamed to this terminal,
/// and exits with the command's status (124 on timeout, 128+N on signal N).
/// </summary>
internal static class ExecCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var argv = CommonOptions.Argv();
        var shell = CommonOptions.Shell();
        var cwd = new Option<string?>("--cwd", "-w") { Description = "Working directory, inside /workspace", HelpName = "DIR" };
        var env = CommonOptions.Env("Extra environment for this command");
        var timeout = CommonOptions.Timeout();
        var noStdin = CommonOptions.NoStdin();
        var json = CommonOptions.Json();
        var command = new Command("exec", "Run a command in a sandbox: hutch exec ID -- ls -la")
        {
            id, argv, shell, cwd, env, timeout, noStdin, json,
        };
        CommonOptions.RequireOneCommand(command, argv, shell, "hutch exec ID -- ls -la");

        command.SetAction(async (parse, cancellationToken) =>
        {
            var sandbox = parse.GetRequiredValue(id);
            var request = new ExecRequest(
                Argv: parse.GetValue(argv) is { Length: > 0 } a ? a : null,
                Command: parse.GetValue(shell),
                Cwd: parse.GetValue(cwd),
                Env: CommonOptions.ToEnv(parse.GetValue(env)),
                StdinBase64: await Stdin.ReadAsync(console, !parse.GetValue(noStdin), cancellationToken).ConfigureAwait(false),
                TimeoutMs: CommonOptions.ToTimeoutMs(parse.GetValue(timeout)));

            using var client = Connection.Connect();
            if (parse.GetValue(json))
            {
                var result = await client.ExecAsync(sandbox, request, cancellationToken).ConfigureAwait(false);
                JsonOutput.Write(console.Out, result, JsonOutput.Context.ExecResult);
                return ExitCodes.For(result);
            }

            // Ctrl-C here disconnects; KillOnDisconnect makes that end the command too, as it would locally.
            var events = client.ExecStreamAsync(sandbox, request with { KillOnDisconnect = true }, cancellationToken);
            var exit = await ExecPump.RunAsync(events, console.OpenStdout(), console.OpenStderr(), cancellationToken).ConfigureAwait(false);
            ExecPump.ReportEnd(console, exit.TimedOut, exit.OomKilled, exit.Truncated, exit.DurationMs);
            return ExitCodes.For(exit);
        });
        return command;
    }
}
