using System.CommandLine;
using Hutch.Cli.Engines;
using Hutch.Cli.Exec;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch run -- argv…`: create a sandbox, run one command in it with output streamed, delete it, and
/// exit with the command's status. Works without a daemon (the engine runs in this process); Ctrl-C
/// deletes the sandbox before exiting.
/// </summary>
internal static class RunCommand
{
    /// <summary>How long deleting the sandbox may take before `run` gives up and says how to finish it.</summary>
    private static readonly TimeSpan DeleteBudget = TimeSpan.FromSeconds(30);

    public static Command Create(CliConsole console, IEngineHost engineHost)
    {
        var create = new CreateOptions();
        var workspace = new Option<string?>("--workspace") { Description = "Bind this existing host directory as /workspace (in-process only; never deleted)", HelpName = "HOST_DIR" };
        var keep = new Option<bool>("--keep") { Description = "Keep the sandbox after the command ends, and print its id to stderr" };
        var argv = CommonOptions.Argv();
        var shell = CommonOptions.Shell();
        var timeout = CommonOptions.Timeout();
        var io = new CommandIoOptions();
        var json = CommonOptions.Json();
        var command = new Command("run", "Create a sandbox, run one command in it, delete it: hutch run -- python3 -c 'print(1)'")
        {
            argv, workspace, keep, shell, timeout, json,
        };
        create.AddTo(command);
        io.AddTo(command);
        CommonOptions.RequireOneCommand(command, argv, shell, "hutch run -- ls -la");

        command.SetAction(async (parse, cancellationToken) =>
        {
            var hostWorkspace = parse.GetValue(workspace) is { } dir ? Path.GetFullPath(dir) : null;
            if (hostWorkspace is not null && !Directory.Exists(hostWorkspace))
            {
                throw new CliException(ErrorCodes.InvalidRequest, $"--workspace {hostWorkspace} is not a directory: create it first, or leave the option out for a fresh workspace", ExitCodes.Usage);
            }

            // Chosen before stdin is touched: without a daemon, the NativeAOT `hutch` hands the whole
            // invocation over to hutch-engine, which must find stdin untouched.
            await using var engine = await EngineChooser.OpenAsync(engineHost, needInProcess: hostWorkspace is not null,
                parse.GetValue<string?>(Connection.UrlName), parse.GetValue<string?>(Connection.ApiKeyName), cancellationToken).ConfigureAwait(false);

            // stdin is read while the sandbox starts.
            var stdinMode = io.StdinModeOf(parse);
            var stdin = Stdin.ReadAsync(console, stdinMode, cancellationToken);
            var exec = new ExecRequest(
                Argv: parse.GetValue(argv) is { Length: > 0 } a ? a : null,
                Command: parse.GetValue(shell),
                TimeoutMs: CommonOptions.ToTimeoutMs(parse.GetValue(timeout)),
                MaxOutputBytes: parse.GetValue(io.MaxOutput),
                KillOnDisconnect: true);
            var code = await RunAsync(console, engine, create.ToRequest(parse), hostWorkspace, exec, stdin,
                parse.GetValue(keep), parse.GetValue(json), io.Cap(parse), cancellationToken).ConfigureAwait(false);
            Stdin.ReportUnread(console, stdinMode);
            return code;
        });
        return command;
    }

    /// <summary>The create → exec → delete sequence over any engine; separate from parsing so tests can drive it.</summary>
    public static async Task<int> RunAsync(CliConsole console, IRunEngine engine, CreateSandboxRequest create, string? hostWorkspace,
        ExecRequest exec, Task<string?> stdin, bool keep, bool json, OutputCap cap, CancellationToken cancellationToken)
    {
        // Not cancellable: a create cut off half way could leave a sandbox nobody knows the id of.
        // It is short (tens of ms); a Ctrl-C during it is honoured right after, by deleting.
        var sandbox = await engine.CreateAsync(create, hostWorkspace, CancellationToken.None).ConfigureAwait(false);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            exec = exec with { StdinBase64 = await stdin.ConfigureAwait(false) };
            if (json)
            {
                var result = await engine.ExecAsync(sandbox.Id, exec, cancellationToken).ConfigureAwait(false);
                JsonOutput.Write(console.Out, result, JsonOutput.Context.ExecResult);
                return ExecEnd.Of(result).Finish(console, cap);
            }

            var exit = await ExecPump.RunAsync(engine.ExecStreamAsync(sandbox.Id, exec, cancellationToken),
                console.OpenStdout(), console.OpenStderr(), cancellationToken).ConfigureAwait(false);
            return ExecEnd.Of(exit).Finish(console, cap);
        }
        finally
        {
            if (keep)
            {
                await engine.KeepAsync(sandbox.Id, CancellationToken.None).ConfigureAwait(false);
                console.Error.WriteLine($"hutch: kept sandbox {sandbox.Id}");
            }
            else
            {
                await DeleteAsync(console, engine, sandbox.Id).ConfigureAwait(false);
            }
        }
    }

    private static async Task DeleteAsync(CliConsole console, IRunEngine engine, string id)
    {
        using var budget = new CancellationTokenSource(DeleteBudget);
        try
        {
            await engine.DeleteAsync(id, keepWorkspace: false, budget.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The command's own exit status matters more than this; say how to finish the job.
            var code = e switch
            {
                CodedException coded => coded.Code,
                OperationCanceledException => "timeout",
                _ => ErrorCodes.Internal,
            };
            console.Fail($"could not delete sandbox {id}: {e.Message}; delete it with `hutch rm {id}`", code);
        }
    }
}
