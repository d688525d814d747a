using System.CommandLine;
using System.Globalization;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>`hutch service start|ls|status|logs|stop|rm`: named commands with readiness probes and restarts (docs/services.md).</summary>
internal static class ServiceCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("service", "Services with readiness probes: start, ls, status, logs, stop, rm")
        {
            Start(console), List(console), Status(console), Logs(console), Stop(console), Remove(console),
        };
        command.Aliases.Add("services");
        return command;
    }

    private static Argument<string> Id() => new("id") { Description = "The sandbox's id or name" };

    private static Argument<string> Name() => new("name") { Description = "The service's name" };

    private static Command Start(CliConsole console)
    {
        var id = Id();
        var name = Name();
        var argv = CommonOptions.Argv();
        var shell = CommonOptions.Shell();
        var cwd = new Option<string?>("--cwd", "-w") { Description = "Working directory, inside /workspace", HelpName = "DIR" };
        var env = CommonOptions.Env("Extra environment for the service");
        var secrets = CommonOptions.Secrets("the service");
        var probe = new Option<string?>("--probe") { Description = "Ready when: tcp:PORT, http:PORT[/PATH], file:PATH or cmd:LINE", HelpName = "PROBE" };
        var probeTimeout = new Option<double?>("--probe-timeout") { Description = "Seconds to become ready (default 30)", HelpName = "SECONDS" };
        var restart = new Option<string?>("--restart") { Description = "never (default) or on-failure[:MAX]", HelpName = "POLICY" };
        var wait = new Option<bool>("--wait") { Description = "Wait until it is ready, showing probe attempts and the last probe error on stderr (exit 1 if it fails)" };
        var json = CommonOptions.Json();
        var command = new Command("start", "Start a service: hutch service start ID web --probe http:8000 --wait -- python3 -m http.server")
        {
            id, name, argv, shell, cwd, env, secrets, probe, probeTimeout, restart, wait, json,
        };
        CommonOptions.RequireOneCommand(command, argv, shell, "hutch service start ID web --probe tcp:8000 -- python3 -m http.server");
        command.SetAction(async (parse, cancellationToken) =>
        {
            var sandbox = parse.GetRequiredValue(id);
            var service = parse.GetRequiredValue(name);
            using var client = Connection.Connect(parse);
            var info = await client.CreateServiceAsync(sandbox, new CreateServiceRequest(service,
                Argv: parse.GetValue(argv) is { Length: > 0 } a ? a : null,
                Command: parse.GetValue(shell),
                Cwd: parse.GetValue(cwd),
                Env: CommonOptions.ToEnv(parse.GetValue(env)),
                Probe: ParseProbe(parse.GetValue(probe), parse.GetValue(probeTimeout)),
                Restart: ParseRestart(parse.GetValue(restart)),
                Secrets: CommonOptions.ToSecretUses(parse.GetValue(secrets))), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(wait))
            {
                info = await ServiceProgress.WaitAsync(client, sandbox, info, console.Error, cancellationToken).ConfigureAwait(false);
            }
            Print(console, info, parse.GetValue(json));
            return ExitFor(info);
        });
        return command;
    }

    /// <summary>tcp:8000, http:8000/health, file:/tmp/ready, cmd:curl -sf localhost:8000.</summary>
    public static ProbeSpec? ParseProbe(string? text, double? timeoutSeconds)
    {
        if (text is null)
        {
            return null;
        }
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var (kind, rest) = colon < 0 ? (text, "") : (text[..colon], text[(colon + 1)..]);
        var timeout = timeoutSeconds is { } s ? (long)(s * 1000) : (long?)null;
        switch (kind)
        {
            case "tcp" when int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var port):
                return new ProbeSpec(ProbeTypes.Tcp, Port: port, TimeoutMs: timeout);
            case "http":
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                var portText = slash < 0 ? rest : rest[..slash];
                if (int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var httpPort))
                {
                    return new ProbeSpec(ProbeTypes.Http, Port: httpPort, Path: slash < 0 ? "/" : rest[slash..], TimeoutMs: timeout);
                }
                break;
            case "file" when rest.Length > 0:
                return new ProbeSpec(ProbeTypes.File, Path: rest, TimeoutMs: timeout);
            case "cmd" when rest.Length > 0:
                return new ProbeSpec(ProbeTypes.Command, Command: rest, TimeoutMs: timeout);
        }
        throw new CliException("invalid_probe", $"--probe '{text}' is not a probe. Use tcp:PORT, http:PORT[/PATH], file:PATH or cmd:LINE.");
    }

    public static RestartPolicy? ParseRestart(string? text)
    {
        if (text is null)
        {
            return null;
        }
        var parts = text.Split(':', 2);
        if (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            throw new CliException("invalid_restart_policy", $"--restart '{text}': the limit after ':' must be a number, like on-failure:5.");
        }
        return new RestartPolicy(parts[0], parts.Length == 2 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : null);
    }

    private static Command List(CliConsole console)
    {
        var id = Id();
        var json = CommonOptions.Json();
        var command = new Command("ls", "List a sandbox's services") { id, json };
        command.Aliases.Add("list");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var services = await client.ListServicesAsync(parse.GetRequiredValue(id), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, new ServiceList([.. services]), JsonOutput.Context.ServiceList);
                return ExitCodes.Success;
            }
            var table = new Table("NAME", "STATE", "REASON", "EXIT", "RESTARTS", "PID", "COMMAND");
            foreach (var s in services)
            {
                table.Add(s.Name, s.State, s.StopReason ?? "", s.Signal ?? s.ExitCode?.ToString(CultureInfo.InvariantCulture) ?? "", s.Restarts.ToString(CultureInfo.InvariantCulture),
                    s.Pid?.ToString(CultureInfo.InvariantCulture) ?? "", SafeText.Show(string.Join(' ', s.Argv)));
            }
            console.Out.Write(table.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Status(CliConsole console)
    {
        var id = Id();
        var name = Name();
        var json = CommonOptions.Json();
        var command = new Command("status", "Show a service's state, stop reason, exit code and last probe error (exit 1 when it failed)") { id, name, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var info = await client.GetServiceAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(name), cancellationToken).ConfigureAwait(false);
            Print(console, info, parse.GetValue(json));
            return ExitFor(info);
        });
        return command;
    }

    private static Command Logs(CliConsole console)
    {
        var id = Id();
        var name = Name();
        var tail = new Option<int>("--tail", "-n") { Description = "Lines of each stream (default 100)", DefaultValueFactory = _ => 100, HelpName = "N" };
        var command = new Command("logs", "Print the last lines of a service's current run (follow with `hutch proc logs -f ID PROCESS`)") { id, name, tail };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var logs = await client.ServiceLogsAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(name), parse.GetValue(tail), cancellationToken).ConfigureAwait(false);
            console.Out.Write(logs.Stdout);
            console.Error.Write(logs.Stderr);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Stop(CliConsole console)
    {
        var id = Id();
        var name = Name();
        var grace = new Option<long?>("--grace") { Description = "Milliseconds between SIGTERM and SIGKILL (default 5000)", HelpName = "MS" };
        var json = CommonOptions.Json();
        var command = new Command("stop", "Stop a service: SIGTERM, then SIGKILL after the grace") { id, name, grace, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            Print(console, await client.StopServiceAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(name), new StopServiceRequest(parse.GetValue(grace)), cancellationToken).ConfigureAwait(false), parse.GetValue(json));
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Remove(CliConsole console)
    {
        var id = Id();
        var name = Name();
        var command = new Command("rm", "Stop a service if it runs and remove it with its logs") { id, name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            await client.DeleteServiceAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(name), cancellationToken).ConfigureAwait(false);
            console.Out.WriteLine(parse.GetRequiredValue(name));
            return ExitCodes.Success;
        });
        return command;
    }

    private static void Print(CliConsole console, ServiceInfo info, bool json)
    {
        if (json)
        {
            JsonOutput.Write(console.Out, info, JsonOutput.Context.ServiceInfo);
            return;
        }
        console.Out.WriteLine($"{info.Name} {info.State}{(info.StopReason is { } r ? $" ({r})" : "")}{(info.ProcessId is { } p ? $" process {p}" : "")}");
        if (HowItEnded(info) is { } ended)
        {
            console.Out.WriteLine(ended);
        }
        if (info.LastProbeError is { } error && info.State != ServiceStates.Ready)
        {
            console.Out.WriteLine($"last probe: {SafeText.Show(error)}");
        }
    }

    /// <summary>"exit code 3 after 2 restarts", "killed by SIGKILL": null while it runs.</summary>
    private static string? HowItEnded(ServiceInfo info)
    {
        if (info.State is ServiceStates.Starting or ServiceStates.Ready || (info.ExitCode is null && info.Signal is null))
        {
            return null;
        }
        var end = info.Signal is { } signal ? $"killed by {signal}" : $"exit code {info.ExitCode!.Value.ToString(CultureInfo.InvariantCulture)}";
        return info.Restarts switch
        {
            0 => end,
            1 => $"{end} after 1 restart",
            var n => $"{end} after {n.ToString(CultureInfo.InvariantCulture)} restarts",
        };
    }

    /// <summary>A failed service is a failure of the command that reports it, as a failed unit is for systemctl.</summary>
    private static int ExitFor(ServiceInfo info) => info.State is ServiceStates.Failed ? ExitCodes.Failure : ExitCodes.Success;
}
