using System.CommandLine;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>Options several commands share. Each call makes a new instance: a symbol belongs to one command.</summary>
internal static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Print the API's JSON instead of human output" };

    /// <summary><c>--env K=V</c>, repeatable; a value without '=' is a usage error.</summary>
    public static Option<string[]> Env(string description) => KeyValues(new Option<string[]>("--env", "-e"), description, "NAME=value, e.g. --env PATH=/usr/bin");

    /// <summary>K=V pairs as a dictionary (a later K wins), or null when there are none.</summary>
    public static Dictionary<string, string>? ToEnv(string[]? pairs)
    {
        if (pairs is not { Length: > 0 })
        {
            return null;
        }
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=');
            env[pair[..eq]] = pair[(eq + 1)..];
        }
        return env;
    }

    /// <summary><c>--secret NAME[:VAR]</c> or <c>NAME:file[:FILE]</c>, repeatable: stored secrets given as environment variables or files.</summary>
    public static Option<string[]> Secrets(string who) => new("--secret")
    {
        Description = $"Give {who} a stored secret (`hutch secret set`), redacted from all output: NAME (the variable $NAME: a placeholder when the secret has hosts, "
            + $"else the value), NAME:VAR (another variable), NAME:env[:VAR] or NAME:placeholder[:VAR] (that kind), or NAME:file[:FILE] (the file {SecretKinds.FileDir}/NAME or /FILE, in memory)",
        HelpName = "NAME[:VAR]",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>The uses that <c>--secret</c> values name; null when none.</summary>
    public static SecretUse[]? ToSecretUses(string[]? values) => values is { Length: > 0 } ? [.. values.Select(ToSecretUse)] : null;

    /// <summary>NAME, NAME:VAR, NAME:env:VAR, NAME:placeholder[:VAR], NAME:file[:FILE] (a variable is never named after a kind here: names are upper case by custom).</summary>
    private static SecretUse ToSecretUse(string value) => value.Split(':', 3) switch
    {
        [var name, SecretKinds.File] => new SecretUse(name, SecretKinds.File),
        [var name, SecretKinds.File, var file] => new SecretUse(name, SecretKinds.File, File: file),
        [var name, SecretKinds.Env, var variable] => new SecretUse(name, SecretKinds.Env, variable),
        [var name, SecretKinds.Placeholder] => new SecretUse(name, SecretKinds.Placeholder),
        [var name, SecretKinds.Placeholder, var variable] => new SecretUse(name, SecretKinds.Placeholder, variable),
        [var name, var variable] => new SecretUse(name, SecretKinds.Env, variable),
        _ => new SecretUse(value),
    };

    /// <summary><c>--label K=V</c>, repeatable; a value without '=' is a usage error.</summary>
    public static Option<string[]> Labels(string description) => KeyValues(new Option<string[]>("--label"), description, "key=value, e.g. --label team=search");

    /// <summary>A repeatable K=V option; a value without '=' (or with an empty K) is a usage error that shows <paramref name="example"/>.</summary>
    private static Option<string[]> KeyValues(Option<string[]> option, string description, string example)
    {
        option.Description = description + " (K=V, repeatable)";
        option.HelpName = "K=V";
        option.AllowMultipleArgumentsPerToken = false;
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (token.Value.IndexOf('=') <= 0)
                {
                    result.AddError($"{option.Name} '{token.Value}' is not K=V: write it as {example}.");
                }
            }
        });
        return option;
    }

    public static Option<double?> Timeout() => new("--timeout")
    {
        Description = "Kill the command and its children after this many seconds (exit status 124)",
        HelpName = "SECONDS",
    };

    public static long? ToTimeoutMs(double? seconds) =>
        seconds is { } s ? (long)Math.Ceiling(s * 1000) : null;

    public static Option<string?> Shell() => new("--shell", "-c")
    {
        Description = "Run this shell command line (/bin/sh -c) instead of argv",
        HelpName = "CMD",
    };

    public static Argument<string[]> Argv() => new("argv")
    {
        Description = "The program and its arguments, after --",
        Arity = ArgumentArity.ZeroOrMore,
    };

    /// <summary>Exactly one of argv and --shell: added to exec and run.</summary>
    /// <summary>
    /// <c>--shell-file FILE</c>: the shell line read from a file. An argument of hutch's own is limited by
    /// the kernel to 128 KiB, a shell line sent to the daemon to 64 MiB (a long heredoc, a generated script).
    /// </summary>
    public static Option<string?> ShellFile() => new("--shell-file")
    {
        Description = "Run the shell script in this file (/bin/sh, up to 64 MiB; /dev/stdin reads it from a pipe) instead of argv",
        HelpName = "FILE",
    };

    /// <summary>
    /// A misspelt option before <c>--</c> (<c>hutch exec ID --tiemout 5 -- true</c>) is not an error to
    /// the parser: it becomes the first word of argv, and would be run as the program. Returns the
    /// usage error to give instead, or null. Words after <c>--</c> are the program's own, whatever they are.
    /// </summary>
    public static string? OptionTakenAsProgram(string[] args, ParseResult parse)
    {
        if (parse.CommandResult.Command.Arguments.FirstOrDefault(a => a.Name == "argv") is not { } argv
            || parse.GetResult(argv) is not { Tokens: [var first, ..] } result)
        {
            return null;
        }
        var dash = Array.IndexOf(args, "--");
        var afterDash = dash < 0 ? 0 : args.Length - dash - 1;
        var beforeDash = result.Tokens.Count > afterDash;
        return beforeDash && first.Value is ['-', _, ..]
            ? $"Unknown option '{first.Value}': options go before --, the program after it"
            : null;
    }

    public static void RequireOneCommand(Command command, Argument<string[]> argv, Option<string?> shell, string example, Option<string?>? shellFile = null) =>
        command.Validators.Add(result =>
        {
            var hasArgv = result.GetValue(argv) is { Length: > 0 };
            var hasShell = result.GetValue(shell) is not null;
            var hasFile = shellFile is not null && result.GetValue(shellFile) is not null;
            var given = (hasArgv ? 1 : 0) + (hasShell ? 1 : 0) + (hasFile ? 1 : 0);
            if (given != 1)
            {
                var shells = shellFile is null ? "--shell CMD" : "--shell CMD, --shell-file FILE";
                result.AddError(given > 1
                    ? $"Give one of {shells} or a program after --, not several."
                    : $"No command to run: put one after --, as in `{example}`, or use --shell \"CMD\".");
            }
        });
}

/// <summary>The options of `hutch create`, also taken by `hutch run`.</summary>
internal sealed class CreateOptions
{
    public Option<string?> Name { get; } = new("--name") { Description = "Name for the sandbox, unique on the host ([a-z0-9-], 1-63)" };
    public Option<string[]> Env { get; } = CommonOptions.Env("Environment for every command in the sandbox");
    public Option<string?> Cwd { get; } = new("--cwd") { Description = "Default working directory, inside /workspace", HelpName = "DIR" };
    public Option<long?> Memory { get; } = new("--memory") { Description = "Memory limit in MiB (default 512)", HelpName = "MiB" };
    public Option<int?> Pids { get; } = new("--pids") { Description = "Most processes and threads at once (default 512)", HelpName = "N" };
    public Option<double?> Cpus { get; } = new("--cpus") { Description = "CPU share in cores, e.g. 0.5 (default 1)", HelpName = "X" };
    public Option<long?> Tmp { get; } = new("--tmp") { Description = "Size of /tmp in MiB (default 64)", HelpName = "MiB" };
    public Option<long?> Disk { get; } = new("--disk") { Description = "Disk quota of /workspace (and, separately, of its checkpoints) in MiB (default 10240)", HelpName = "MiB" };
    public Option<int?> IoWeight { get; } = new("--io-weight") { Description = "Share of the workspace disk when sandboxes compete, 10-1000 (default 100)", HelpName = "N" };
    public Option<long?> IoReadBps { get; } = new("--io-read-bps") { Description = "Most bytes per second read from the workspace disk", HelpName = "BYTES" };
    public Option<long?> IoWriteBps { get; } = new("--io-write-bps") { Description = "Most bytes per second written to the workspace disk", HelpName = "BYTES" };
    public Option<long?> IoReadIops { get; } = new("--io-read-iops") { Description = "Most read operations per second on the workspace disk", HelpName = "N" };
    public Option<long?> IoWriteIops { get; } = new("--io-write-iops") { Description = "Most write operations per second on the workspace disk", HelpName = "N" };
    public Option<long?> Ttl { get; } = new("--ttl")
    {
        Description = "Delete the sandbox by itself after this long: seconds, or 30m, 2h, 1d (1 s to 30 days; leave it out for never)",
        HelpName = "DURATION",
        CustomParser = result => Durations.Parse(result, "--ttl"),
    };
    public Option<string[]> Labels { get; } = CommonOptions.Labels("Label the sandbox, to find it with `hutch ls --label`");
    public Option<string?> User { get; } = new("--user") { Description = "Run commands as 'user' (uid 1000, default) or 'root' (uid 0, no capabilities)" };
    public NetworkOptions Network { get; } = new();
    public Option<string[]> Secrets { get; } = CommonOptions.Secrets("every command");
    public Option<string?> Template { get; } = new("--template")
    {
        Description = "Make its root from this template, NAME or NAME:VERSION: writable inside, changes kept in the sandbox (default: the host's root, read-only)",
        HelpName = "TEMPLATE",
    };

    public Option<string[]> Artifacts { get; } = new("--artifacts")
    {
        Description = "Keep the workspace files this glob matches after every command (repeatable): out/**, *.pdf, **/*.csv",
        HelpName = "GLOB",
    };
    public Option<string?> Session { get; } = new("--session")
    {
        Description = "The artifact session (a chat or task id): its kept files come back in this sandbox, and outlive it",
        HelpName = "KEY",
    };

    public Option<string[]> Bundles { get; } = new("--bundle")
    {
        Description = "Mount a bundle read-only (docs/bundles.md): NAME (its newest version at /bundles/NAME), NAME@VERSION, NAME:PATH or NAME@VERSION:PATH; repeatable",
        HelpName = "NAME[@VERSION][:PATH]",
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>"NAME[@VERSION][:PATH]" as a mount: the path after the first ':', the version after the first '@' before it.</summary>
    public static BundleMount ParseBundle(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var (reference, path) = colon < 0 ? (text, null) : (text[..colon], text[(colon + 1)..]);
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? new BundleMount(reference, null, path) : new BundleMount(reference[..at], reference[(at + 1)..], path);
    }

    public CreateOptions()
    {
        User.AcceptOnlyFromAmong("user", "root");
    }

    public void AddTo(Command command)
    {
        command.Add(Name);
        command.Add(Env);
        command.Add(Cwd);
        command.Add(Memory);
        command.Add(Pids);
        command.Add(Cpus);
        command.Add(Tmp);
        command.Add(Disk);
        command.Add(IoWeight);
        command.Add(IoReadBps);
        command.Add(IoWriteBps);
        command.Add(IoReadIops);
        command.Add(IoWriteIops);
        command.Add(Ttl);
        command.Add(Labels);
        command.Add(User);
        command.Add(Secrets);
        command.Add(Template);
        command.Add(Artifacts);
        command.Add(Session);
        command.Add(Bundles);
        Network.AddTo(command);
    }

    public CreateSandboxRequest ToRequest(ParseResult parse)
    {
        var limits = new SandboxLimits(parse.GetValue(Memory), parse.GetValue(Pids), parse.GetValue(Cpus), parse.GetValue(Tmp),
            parse.GetValue(Disk), parse.GetValue(IoWeight), parse.GetValue(IoReadBps), parse.GetValue(IoWriteBps),
            parse.GetValue(IoReadIops), parse.GetValue(IoWriteIops));
        return new CreateSandboxRequest(
            Name: parse.GetValue(Name),
            Env: CommonOptions.ToEnv(parse.GetValue(Env)),
            Cwd: parse.GetValue(Cwd),
            Limits: limits == new SandboxLimits() ? null : limits,
            TtlSeconds: parse.GetValue(Ttl),
            User: parse.GetValue(User),
            Labels: CommonOptions.ToEnv(parse.GetValue(Labels)),
            Network: Network.ToPolicy(parse),
            Secrets: CommonOptions.ToSecretUses(parse.GetValue(Secrets)),
            Template: parse.GetValue(Template),
            Artifacts: parse.GetValue(Artifacts) is { Length: > 0 } || parse.GetValue(Session) is not null
                ? new ArtifactSpec(parse.GetValue(Artifacts) is { Length: > 0 } globs ? globs : null, parse.GetValue(Session))
                : null,
            Bundles: parse.GetValue(Bundles) is { Length: > 0 } bundles ? [.. bundles.Select(ParseBundle)] : null);
    }
}
