using System.CommandLine;
using Hutch.Cli.Shell;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch shell ID [-- command…]`: an interactive terminal in a sandbox, like `docker exec -it` or
/// ssh. Opens a shell (or attaches to one with --attach), puts this terminal in raw mode so every
/// key (Ctrl-C included) goes to the sandbox, follows window resizes, and exits with the shell's
/// status. Without a terminal (stdin piped) it forwards the input and types Ctrl-D at its end.
/// </summary>
internal static class ShellCommand
{
    public static Command Create(CliConsole console)
    {
        var id = new Argument<string>("id") { Description = "The sandbox's id or name" };
        var argv = new Argument<string[]>("argv")
        {
            Description = "A program to run on the terminal instead of the login shell, after --",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var cwd = new Option<string?>("--cwd", "-w") { Description = "Working directory, inside /workspace", HelpName = "DIR" };
        var env = CommonOptions.Env("Extra environment for the shell");
        var name = new Option<string?>("--name") { Description = "Name the shell, to attach to it by name later", HelpName = "NAME" };
        var attach = new Option<string?>("--attach", "-a") { Description = "Attach to a running shell (id or name) instead of opening one", HelpName = "SHELL" };
        var cursor = new Option<long?>("--cursor")
        {
            Description = "With --attach: replay output from this cursor (default 0, all that is kept)",
            HelpName = "N",
        };
        var command = new Command("shell", "Open an interactive shell in a sandbox: hutch shell ID")
        {
            id, argv, cwd, env, name, attach, cursor,
        };
        command.Validators.Add(result =>
        {
            var opening = result.GetValue(argv) is { Length: > 0 } || result.GetValue(cwd) is not null
                || result.GetValue(env) is { Length: > 0 } || result.GetValue(name) is not null;
            if (result.GetValue(attach) is not null && opening)
            {
                result.AddError("--attach joins a shell that runs already: it takes no command, --cwd, --env or --name.");
            }
            if (result.GetValue(attach) is null && result.GetValue(cursor) is not null)
            {
                result.AddError("--cursor goes with --attach: a new shell's output starts at 0.");
            }
        });

        command.SetAction(async (parse, cancellationToken) =>
        {
            var sandbox = parse.GetRequiredValue(id);
            using var client = Connection.Connect(parse);
            var (cols, rows) = LocalSize();
            string shellId;
            if (parse.GetValue(attach) is { } existing)
            {
                shellId = existing;
            }
            else
            {
                var opened = await client.OpenShellAsync(sandbox, new OpenShellRequest(
                    cols, rows, parse.GetValue(cwd), CommonOptions.ToEnv(parse.GetValue(env)),
                    Argv: parse.GetValue(argv) is { Length: > 0 } a ? a : null,
                    Name: parse.GetValue(name)), cancellationToken).ConfigureAwait(false);
                shellId = opened.Id;
            }

            await using var shell = await client.AttachShellAsync(sandbox, shellId, parse.GetValue(cursor) ?? 0, cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(attach) is not null && LocalTerminal.Size is not null)
            {
                // The shell takes the size of the terminal that now shows it.
                await shell.ResizeAsync(cols, rows, cancellationToken).ConfigureAwait(false);
            }
            ShellSession.Outcome outcome;
            await using (var input = LocalTerminal.OpenInput(console))
            await using (var output = LocalTerminal.OpenOutput(console))
            {
                using var terminal = LocalTerminal.Enter((c, r) => _ = ResizeQuietlyAsync(shell, c, r));
                try
                {
                    outcome = await ShellSession.RunAsync(shell, input, output, typeEndOfInput: !terminal.IsRaw, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    terminal.Dispose(); // the terminal back in its own mode before anything is printed
                    console.Error.WriteLine();
                    ReportDetached(console, sandbox, shell.Shell.Id);
                    throw;
                }
                catch (HutchApiException e) when (e.Code == ClientErrorCodes.StreamInterrupted)
                {
                    terminal.Dispose();
                    console.Fail(e.Detail, e.Code);
                    ReportDetached(console, sandbox, shell.Shell.Id);
                    return ExitCodes.Failure;
                }
            }
            if (outcome.Exit is { } exit)
            {
                return ExitCodes.For(exit.ExitCode, exit.Signal, timedOut: false);
            }
            if (outcome.LastError is { } error)
            {
                console.Fail(error.Message, error.Code);
            }
            ReportDetached(console, sandbox, shell.Shell.Id);
            return ExitCodes.Failure;
        });
        return command;
    }

    /// <summary>This terminal's size, clamped to what a shell takes; 80x24 when there is no terminal.</summary>
    private static (int Cols, int Rows) LocalSize() => LocalTerminal.Size is { } size
        ? (Math.Clamp(size.Cols, 1, 1000), Math.Clamp(size.Rows, 1, 1000))
        : (80, 24);

    /// <summary>On SIGWINCH: a lost resize is harmless (the next one fixes it), so failures are dropped.</summary>
    private static async Task ResizeQuietlyAsync(ShellAttachment shell, int cols, int rows)
    {
        try
        {
            await shell.ResizeAsync(Math.Clamp(cols, 1, 1000), Math.Clamp(rows, 1, 1000)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HutchApiException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    private static void ReportDetached(CliConsole console, string sandbox, string shell) =>
        console.Error.WriteLine($"hutch: detached; shell {shell} runs on. Attach again with `hutch shell {sandbox} --attach {shell}`.");
}
