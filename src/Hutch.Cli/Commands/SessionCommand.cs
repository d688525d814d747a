using System.CommandLine;
using System.Globalization;
using Hutch.Cli.Output;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>`hutch session create|ls|exec|rm`: persistent shells where cd and export carry over (docs/sessions.md).</summary>
internal static class SessionCommand
{
    public static Command Create(CliConsole console)
    {
        var command = new Command("session", "Persistent shells, like terminal tabs: create, ls, exec, rm")
        {
            CreateSession(console), List(console), Exec(console), Remove(console),
        };
        command.Aliases.Add("sessions");
        return command;
    }

    private static Argument<string> Id() => new("id") { Description = "The sandbox's id or name" };

    private static Argument<string> Name() => new("name") { Description = "The session's name" };

    private static Command CreateSession(CliConsole console)
    {
        var id = Id();
        var name = new Argument<string?>("name") { Description = "A name for it (generated when left out)", Arity = ArgumentArity.ZeroOrOne };
        var cwd = new Option<string?>("--cwd", "-w") { Description = "Where the shell starts, inside /workspace", HelpName = "DIR" };
        var env = CommonOptions.Env("Extra environment of the shell");
        var json = CommonOptions.Json();
        var command = new Command("create", "Start a session and print its name") { id, name, cwd, env, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var session = await client.CreateSessionAsync(parse.GetRequiredValue(id),
                new CreateSessionRequest(parse.GetValue(name), parse.GetValue(cwd), CommonOptions.ToEnv(parse.GetValue(env))), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, session, JsonOutput.Context.SessionInfo);
            }
            else
            {
                console.Out.WriteLine(session.Name);
            }
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List(CliConsole console)
    {
        var id = Id();
        var json = CommonOptions.Json();
        var command = new Command("ls", "List a sandbox's sessions") { id, json };
        command.Aliases.Add("list");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var sessions = await client.ListSessionsAsync(parse.GetRequiredValue(id), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, new SessionList([.. sessions]), JsonOutput.Context.SessionList);
                return ExitCodes.Success;
            }
            var table = new Table("NAME", "STATE", "SHELL", "PID", "CREATED");
            var now = TimeProvider.System.GetUtcNow();
            foreach (var s in sessions)
            {
                table.Add(s.Name, s.State, s.Shell, s.Pid.ToString(CultureInfo.InvariantCulture), Format.Relative(s.CreatedAt, now));
            }
            console.Out.Write(table.ToString());
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Exec(CliConsole console)
    {
        var id = Id();
        var name = Name();
        var line = new Argument<string[]>("command") { Description = "The command line (words are joined with spaces)", Arity = ArgumentArity.OneOrMore };
        var timeout = CommonOptions.Timeout();
        var json = CommonOptions.Json();
        var command = new Command("exec", "Run a command line in a session: hutch session exec ID dev -- 'cd src && make'") { id, name, line, timeout, json };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            var result = await client.SessionExecAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(name),
                new SessionExecRequest(string.Join(' ', parse.GetRequiredValue(line)), CommonOptions.ToTimeoutMs(parse.GetValue(timeout))), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                JsonOutput.Write(console.Out, result, JsonOutput.Context.ExecResult);
            }
            else
            {
                console.Out.Write(result.Stdout);
                console.Error.Write(result.Stderr);
                if (result.Artifacts is { Count: > 0 } kept)
                {
                    console.Fail(Hutch.Cli.Exec.ExecEnd.KeptNote(kept, parse.GetRequiredValue(id)));
                }
            }
            return ExitCodes.For(result);
        });
        return command;
    }

    private static Command Remove(CliConsole console)
    {
        var id = Id();
        var name = Name();
        var command = new Command("rm", "End a session: its shell and what it started are killed") { id, name };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = Connection.Connect(parse);
            await client.DeleteSessionAsync(parse.GetRequiredValue(id), parse.GetRequiredValue(name), cancellationToken).ConfigureAwait(false);
            console.Out.WriteLine(parse.GetRequiredValue(name));
            return ExitCodes.Success;
        });
        return command;
    }
}
