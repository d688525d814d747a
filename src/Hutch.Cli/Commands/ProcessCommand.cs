using System.CommandLine;
using System.Globalization;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch proc start|ls|logs|wait|kill|signal|rm`: background processes that outlive this terminal
/// and the daemon, with logs replayable from any cursor (docs/processes.md).
/// </summary>
internal static class ProcessCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("proc", "Background processes: start, ls, logs, wait, kill, signal, rm")
        {
            Start(console), List(console), Logs(console), Wait(console), Kill(console), SignalIt(console), Remove(console),
        };
        command.Aliases.Add("process");
        return command;
    }

    /// <summary>The longest wait the daemon takes in one request (its …/wait routes' limit).</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromHours(1);

    private static Argument<string> Id() => new("id") { Description = "The sandbox's id or name" };

    private static Argument<string> Process() => new("process") { Description = "The process's id or name" };

    private static Command Start(CliConsole console)
    {
        var id = Id();
        var argv = CommonOptions.Argv();
        var shell = CommonOptions.Shell();
        var name = new Option<string?>("--name", "-n") { Description = "A name to find it by", HelpName = "NAME" };
        var cwd = new Option<string?>("--cwd", "-w") { Description = "Working directory, inside /workspace", HelpName = "DIR" };
        var env = CommonOptions.Env("Extra environment for the process");
        var secrets = CommonOptions.Secrets("the process");
        var timeout = CommonOptions.Timeout();
        var stdin = new Option<bool>("--stdin") { Description = "Keep stdin open for `hutch proc` writes (default /dev/null)" };
        var json = CommonOptions.Json();
        var command = new Command("start", "Start a command in the background and print its id: hutch proc start ID -n web -- npm run dev")
        {
            id, argv, shell, name, cwd, env, secrets, timeout, stdin, json,
        };
        CommonOptions.RequireOneCommand(command, argv, shell, "hutch proc start ID -- npm run dev");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var process = await client.StartProcessAsync(parse.GetRequiredValue(id), new StartProcessRequest(
                Argv: parse.GetValue(argv) is { Length: > 0 } a ? a : null,
                Command: parse.GetValue(shell),
                Cwd: parse.GetValue(cwd),
                Env: CommonOptions.ToEnv(parse.GetValue(env)),
                Name: parse.GetValue(name),
                Stdin: parse.GetValue(stdin) ? true : null,
                TimeoutMs: CommonOptions.ToTimeoutMs(parse.GetValue(timeout)),
                Secrets: CommonOptions.ToSecretUses(parse.GetValue(secrets))), cancellationToken).ConfigureAwait(false);
            Print(console, process, parse.GetValue(json), p => p.Id);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CliConsole console)
    {
        var id = Id();
        var json = CommonOptions.Json();
        var command = new Command("ls", "List a sandbox's background processes, oldest first") { id, json };
        command.Aliases.Add("list");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var processes = await client.ListProcessesAsync(parse.GetRequiredValue(id), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, new ProcessList([.. processes]), JsonOutput.Context.ProcessList);
            }
            else
            {
                console.Out.Write(Render(processes, TimeProvider.System.GetUtcNow()));
            }
            return ExitCodes.Success;
        });
        return command;
    }

    public static string Render(IEnumerable<ProcessInfo> processes, DateTimeOffset now)
    {
        var table = new Table("ID", "NAME", "STATE", "EXIT", "PID", "STARTED", "COMMAND");
        foreach (var p in processes)
        {
            table.Add(p.Id, SafeText.Show(p.Name ?? ""), p.State, p.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? p.Signal ?? "",
                p.Pid.ToString(CultureInfo.InvariantCulture), Format.Relative(p.StartedAt, now), SafeText.Show(string.Join(' ', p.Argv)));
        }
        return table.ToString();
    }

    private static Command Logs(CliConsole console)
    {
        var id = Id();
        var process = Process();
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing output as it is written, until the process ends" };
        var cursor = new Option<long>("--cursor") { Description = "Start at this cursor (0: the oldest output kept)", HelpName = "N" };
        var command = new Command("logs", "Print a process's output (stdout to stdout, stderr to stderr)") { id, process, follow, cursor };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            await using var stdout = console.OpenStdout();
            await using var stderr = console.OpenStderr();
            int? exit = null;
            await foreach (var e in client.StreamProcessLogsAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(process),
                parse.GetValue(cursor), parse.GetValue(follow), cancellationToken).ConfigureAwait(false))
            {
                switch (e)
                {
                    case LogStdoutEvent o:
                        await stdout.WriteAsync(o.Data, cancellationToken).ConfigureAwait(false);
                        await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case LogStderrEvent o:
                        await stderr.WriteAsync(o.Data, cancellationToken).ConfigureAwait(false);
                        await stderr.FlushAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case LogTruncatedEvent t:
                        console.Error.WriteLine($"hutch: {t.Dropped} bytes of older output were dropped (the log's size cap)");
                        break;
                    case LogExitEvent { Process: var p }:
                        exit = ExitCodes.For(p.ExitCode, p.Signal, p.TimedOut);
                        break;
                }
            }
            return parse.GetValue(follow) && exit is { } code ? code : ExitCodes.Success;
        });
        return command;
    }

    private static Command Wait(CliConsole console)
    {
        var id = Id();
        var process = Process();
        // Not CommonOptions.Timeout: that one kills the command, and waiting never does.
        var timeout = new Option<double?>("--timeout")
        {
            Description = "Stop waiting after this many seconds and exit 124; the process keeps running (stop it with `hutch proc kill`)",
            HelpName = "SECONDS",
        };
        var json = CommonOptions.Json();
        var command = new Command("wait", "Wait until a process ends (as long as it takes, or --timeout); exits with its status") { id, process, timeout, json };
        command.Validators.Add(result =>
        {
            if (result.GetValue(timeout) is < 0)
            {
                result.AddError("--timeout must be 0 or more seconds.");
            }
        });
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var seconds = parse.GetValue(timeout);
            var deadline = seconds is { } s ? DateTimeOffset.UtcNow + TimeSpan.FromSeconds(s) : DateTimeOffset.MaxValue;
            ProcessInfo info;
            do
            {
                // One wait of the daemon lasts at most an hour: a longer (or unbounded) wait asks again.
                var left = deadline - DateTimeOffset.UtcNow;
                info = await client.WaitProcessAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(process),
                    left < MaxWait ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : MaxWait, cancellationToken).ConfigureAwait(false);
            }
            while (info.State is ProcessStates.Running or ProcessStates.Starting && DateTimeOffset.UtcNow < deadline);
            Print(console, info, parse.GetValue(json), p => $"{p.Id} {p.State}{(p.ExitCode is { } c ? $" {c}" : p.Signal is { } sig ? $" {sig}" : "")}");
            return info.State is ProcessStates.Running or ProcessStates.Starting ? ExitCodes.TimedOut : ExitCodes.For(info.ExitCode, info.Signal, info.TimedOut);
        });
        return command;
    }

    private static Command Kill(CliConsole console)
    {
        var id = Id();
        var process = Process();
        var signal = new Option<string?>("--signal", "-s") { Description = "First signal (default SIGTERM)", HelpName = "SIGNAL" };
        var grace = new Option<long?>("--grace") { Description = "Milliseconds before SIGKILL (default 5000)", HelpName = "MS" };
        var json = CommonOptions.Json();
        var command = new Command("kill", "Stop a process's whole tree: SIGTERM, then SIGKILL after the grace") { id, process, signal, grace, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var info = await client.KillProcessAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(process),
                new KillRequest(parse.GetValue(signal), parse.GetValue(grace)), cancellationToken).ConfigureAwait(false);
            Print(console, info, parse.GetValue(json), p => $"{p.Id} {p.State} {p.Signal ?? p.ExitCode?.ToString(CultureInfo.InvariantCulture)}");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command SignalIt(CliConsole console)
    {
        var id = Id();
        var process = Process();
        var signal = new Argument<string>("signal") { Description = "HUP, INT, QUIT, KILL, USR1, USR2, TERM, CONT, STOP, TSTP or WINCH" };
        var command = new Command("signal", "Send a signal to a process's whole tree") { id, process, signal };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            await client.SignalProcessAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(process), parse.GetRequiredValue(signal), cancellationToken).ConfigureAwait(false);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Remove(CliConsole console)
    {
        var id = Id();
        var process = Process();
        var command = new Command("rm", "Remove an ended process and its log") { id, process };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            await client.DeleteProcessAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(process), cancellationToken).ConfigureAwait(false);
            console.Out.WriteLine(parse.GetRequiredValue(process));
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Print(CliConsole console, ProcessInfo info, bool json, Func<ProcessInfo, string> line)
    {
        if (json)
        {
            JsonOutput.Write(console.Out, info, JsonOutput.Context.ProcessInfo);
        }
        else
        {
            console.Out.WriteLine(line(info));
        }
    }
}
