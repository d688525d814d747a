using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Hutch.Daemon.Templates;
using Hutch.Runtime.Templates;

namespace Hutch.Daemon.Builds;

/// <summary>A Dockerfile read and checked before anything runs: its FROM, its steps, what it ignores.</summary>
public sealed partial class BuildPlan
{
    private BuildPlan(char escape, DockerfileInstruction from, string fromReference, List<DockerfileInstruction> steps, List<BuildWarningEvent> warnings,
        HashSet<string> declaredArgs, int count)
    {
        Escape = escape;
        From = from;
        FromReference = fromReference;
        Steps = steps;
        Warnings = warnings;
        DeclaredArgs = declaredArgs;
        StepCount = count;
    }

    public char Escape { get; }
    public DockerfileInstruction From { get; }

    /// <summary>"scratch", or the template's NAME[:VERSION].</summary>
    public string FromReference { get; }

    /// <summary>The instructions after FROM that do something (EXPOSE and the like left out).</summary>
    public List<DockerfileInstruction> Steps { get; }

    public List<BuildWarningEvent> Warnings { get; }
    public HashSet<string> DeclaredArgs { get; }

    /// <summary>How many steps, FROM included.</summary>
    public int StepCount { get; }

    /// <summary>Instructions Docker users write that mean nothing to a template: ignored with a warning.</summary>
    private static readonly Dictionary<string, string> Ignored = new(StringComparer.Ordinal)
    {
        ["EXPOSE"] = "a sandbox's ports are reached through the daemon (hutch port), whatever it exposes",
        ["LABEL"] = "templates have no labels",
        ["MAINTAINER"] = "deprecated in Docker too",
        ["STOPSIGNAL"] = "a sandbox's commands are stopped by Hutch",
    };

    /// <summary>Instructions Hutch refuses, with what to do instead.</summary>
    private static readonly Dictionary<string, string> Refused = new(StringComparer.Ordinal)
    {
        ["VOLUME"] = "a sandbox's /workspace is its volume; leave VOLUME out",
        ["ONBUILD"] = "templates have no triggers; put the steps in the Dockerfile that builds from it",
        ["SHELL"] = "RUN's shell form is /bin/sh -c; use the JSON form, e.g. RUN [\"bash\", \"-c\", \"…\"]",
    };

    private static readonly HashSet<string> Known = ["FROM", "RUN", "COPY", "ADD", "ENV", "ARG", "WORKDIR", "USER", "CMD", "ENTRYPOINT", "HEALTHCHECK"];

    public static BuildPlan Read(string text, IReadOnlyDictionary<string, string> buildArgs)
    {
        var instructions = Dockerfile.Parse(text, out var escape);
        var preFrom = new Dictionary<string, string?>(StringComparer.Ordinal);
        var declared = new HashSet<string>(StringComparer.Ordinal);
        DockerfileInstruction? from = null;
        string? reference = null;
        var steps = new List<DockerfileInstruction>();
        var warnings = new List<BuildWarningEvent>();
        foreach (var instruction in instructions)
        {
            var line = instruction.Line;
            if (Refused.TryGetValue(instruction.Keyword, out var instead))
            {
                throw new DockerfileException($"line {line}: {instruction.Keyword} is not supported by Hutch: {instead}", line);
            }
            if (Ignored.TryGetValue(instruction.Keyword, out var why))
            {
                warnings.Add(new BuildWarningEvent(line, $"line {line}: {instruction.Keyword} is ignored: {why}"));
                continue;
            }
            if (!Known.Contains(instruction.Keyword))
            {
                throw new DockerfileException($"line {line}: {instruction.Keyword} is not an instruction Hutch builds (FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT, HEALTHCHECK)", line);
            }
            if (instruction.Keyword == "FROM")
            {
                if (from is not null)
                {
                    throw new DockerfileException($"line {line}: a second FROM (a multi-stage build) is not supported by Hutch: build one stage", line);
                }
                var (flags, rest) = instruction.SplitFlags();
                if (flags.Count > 0)
                {
                    throw new DockerfileException($"line {line}: FROM --{flags.Keys.First()} is not supported by Hutch: templates are for this host's architecture", line);
                }
                var words = Dockerfile.Words(rest, name => preFrom.GetValueOrDefault(name), escape, split: true, line);
                if (words.Count == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase))
                {
                    throw new DockerfileException($"line {line}: FROM … AS {words[2]} (a multi-stage build) is not supported by Hutch: build one stage, without AS", line);
                }
                if (words.Count != 1)
                {
                    throw new DockerfileException($"line {line}: FROM takes one template, as in FROM debian:bookworm or FROM scratch", line);
                }
                reference = words[0];
                if (reference != "scratch")
                {
                    try
                    {
                        TemplateStore.ParseReference(reference, "FROM");
                    }
                    catch (HutchException e)
                    {
                        throw new DockerfileException($"line {line}: {e.Message}; FROM names a Hutch template (`hutch template ls`), not an image in a registry", line);
                    }
                }
                from = instruction;
                continue;
            }
            if (from is null)
            {
                if (instruction.Keyword != "ARG")
                {
                    throw new DockerfileException($"line {line}: {instruction.Keyword} before FROM: a Dockerfile starts with FROM (only ARG may come before it)", line);
                }
                foreach (var (name, value) in BuildState.ArgDeclarations(instruction, escape, n => preFrom.GetValueOrDefault(n)))
                {
                    declared.Add(name);
                    preFrom[name] = buildArgs.TryGetValue(name, out var given) ? given : value;
                }
                continue;
            }
            if (instruction.Keyword == "ARG")
            {
                foreach (var (name, _) in BuildState.ArgDeclarations(instruction, escape, _ => null))
                {
                    declared.Add(name);
                }
            }
            steps.Add(instruction);
        }
        if (from is null)
        {
            throw new DockerfileException("the Dockerfile has no FROM: start it with FROM TEMPLATE (a Hutch template) or FROM scratch", 0);
        }
        var plan = new BuildPlan(escape, from, reference!, steps, warnings, declared, steps.Count + 1);
        plan.PreFromArgs = preFrom;
        return plan;
    }

    /// <summary>ARGs declared before FROM, with their values: an ARG after FROM without a value takes its default from here.</summary>
    public Dictionary<string, string?> PreFromArgs { get; private set; } = [];
}

/// <summary>What a build has made so far: its layers and settings, and the cache key of the state.</summary>
public sealed partial record BuildState(
    string[] Layers,
    Dictionary<string, string> Env,
    Dictionary<string, string?> Args,
    string? WorkingDir,
    string? User,
    string[]? Entrypoint,
    string[]? Cmd,
    ProbeSpec? Readiness,
    string Key,
    char Escape)
{
    public static BuildState From(BuildPlan plan, TemplateStore store)
    {
        if (plan.FromReference == "scratch")
        {
            return new BuildState([], new Dictionary<string, string>(StringComparer.Ordinal), [], null, null, null, null, null, Hash("hutch-build-1\nFROM scratch"), plan.Escape);
        }
        TemplateRecord template;
        try
        {
            var (name, version) = TemplateStore.ParseReference(plan.FromReference, "FROM");
            template = store.Get(name, version);
        }
        catch (HutchException e) when (e.Code == ErrorCodes.TemplateNotFound)
        {
            throw new HutchException(ErrorCodes.TemplateNotFound, $"line {plan.From.Line}: FROM {plan.FromReference}: {e.Message}");
        }
        var m = template.Manifest;
        return new BuildState(m.Layers, new Dictionary<string, string>(m.Env, StringComparer.Ordinal), [], m.WorkingDir, m.User, null, m.Start, m.Readiness,
            Hash("hutch-build-1\nFROM " + template.Digest), plan.Escape);
    }

    /// <summary>The version's manifest: ENTRYPOINT then CMD is its start command (and its Cmd, as an image's is).</summary>
    public TemplateManifest Manifest()
    {
        string[]? start = Entrypoint is null && Cmd is null ? null : [.. Entrypoint ?? [], .. Cmd ?? []];
        return new TemplateManifest(Layers, Env, WorkingDir, User, start, start, Readiness);
    }

    /// <summary>A variable as Docker substitutes it: ENV over ARG.</summary>
    public string? Lookup(string name) => Env.TryGetValue(name, out var value) ? value : Args.GetValueOrDefault(name);

    /// <summary>The key after a step: its parent's, the instruction (after substitution) and every setting it sees.</summary>
    public string KeyAfter(string instruction)
    {
        var settings = new StringBuilder();
        foreach (var (name, value) in Env.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            settings.Append("env ").Append(name).Append('=').Append(value).Append('\0');
        }
        foreach (var (name, value) in Args.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            settings.Append("arg ").Append(name).Append('=').Append(value ?? "\u0001unset").Append('\0');
        }
        settings.Append("user ").Append(User).Append("\0workdir ").Append(WorkingDir);
        return Hash($"{Key}\n{instruction}\n{settings}");
    }

    public BuildState WithLayers(string[] layers, string key) => this with { Layers = layers, Key = key };

    /// <summary>ARGs with a value that ENV does not set, for a RUN's environment (ENV wins, as in Docker).</summary>
    public Dictionary<string, string> ArgsNotInEnv() =>
        Args.Where(a => a.Value is not null && !Env.ContainsKey(a.Key)).ToDictionary(a => a.Key, a => a.Value!, StringComparer.Ordinal);

    /// <summary>A settings instruction's effect.</summary>
    public BuildState Apply(DockerfileInstruction instruction, BuildPlan plan, IReadOnlyDictionary<string, string> buildArgs)
    {
        var line = instruction.Line;
        var keyword = instruction.Keyword;
        var (flags, rest) = keyword == "HEALTHCHECK" ? instruction.SplitFlags() : ([], instruction.Arguments);
        switch (keyword)
        {
            case "ENV":
            {
                var env = new Dictionary<string, string>(Env, StringComparer.Ordinal);
                foreach (var (name, value) in Pairs(instruction, rest, Lookup, legacy: true, Escape))
                {
                    env[name] = value ?? "";
                }
                var next = this with { Env = env };
                return next with { Key = KeyAfter(instruction.Text + "\n" + string.Join('\0', env.Select(p => p.Key + "=" + p.Value))) };
            }
            case "ARG":
            {
                var args = new Dictionary<string, string?>(Args, StringComparer.Ordinal);
                foreach (var (name, value) in ArgDeclarations(instruction, Escape, Lookup))
                {
                    args[name] = buildArgs.TryGetValue(name, out var given) ? given : value ?? plan.PreFromArgs.GetValueOrDefault(name);
                }
                var next = this with { Args = args };
                return next with { Key = next.KeyAfter(instruction.Text) };
            }
            case "WORKDIR":
            {
                var dir = string.Join(' ', Dockerfile.Words(rest, Lookup, Escape, split: true, line));
                if (dir.Length == 0)
                {
                    throw new DockerfileException($"line {line}: WORKDIR takes a directory, e.g. WORKDIR /app", line);
                }
                var absolute = dir.StartsWith('/') ? dir : (WorkingDir ?? "/").TrimEnd('/') + "/" + dir;
                var next = this with { WorkingDir = "/" + Clean(absolute) };
                return next with { Key = next.KeyAfter(instruction.Text + "\n" + next.WorkingDir) };
            }
            case "USER":
            {
                var user = string.Join(' ', Dockerfile.Words(rest, Lookup, Escape, split: true, line));
                if (user.Length == 0 || user.Contains(' ', StringComparison.Ordinal))
                {
                    throw new DockerfileException($"line {line}: USER takes one user, NAME or UID, optionally :GROUP", line);
                }
                var next = this with { User = user };
                return next with { Key = next.KeyAfter(instruction.Text + "\n" + user) };
            }
            case "CMD":
            case "ENTRYPOINT":
            {
                var argv = instruction.Json ?? (rest.Length == 0 ? null : ["/bin/sh", "-c", rest]);
                // Docker: a new ENTRYPOINT drops the CMD it inherited.
                var next = keyword == "CMD" ? this with { Cmd = argv } : this with { Entrypoint = argv, Cmd = null };
                return next with { Key = KeyAfter(instruction.Text) };
            }
            default: // HEALTHCHECK
            {
                var next = this with { Readiness = Probe(instruction, flags, rest) };
                return next with { Key = KeyAfter(instruction.Text) };
            }
        }
    }

    /// <summary>HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] CMD …|NONE as a command probe (docs/templates.md).</summary>
    private static ProbeSpec? Probe(DockerfileInstruction instruction, Dictionary<string, string> flags, string rest)
    {
        var line = instruction.Line;
        foreach (var flag in flags.Keys.Where(f => f is not ("interval" or "timeout" or "start-period" or "retries" or "start-interval")))
        {
            throw new DockerfileException($"line {line}: HEALTHCHECK --{flag} is not an option (--interval, --timeout, --start-period)", line);
        }
        if (rest.Equals("NONE", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (!rest.StartsWith("CMD ", StringComparison.OrdinalIgnoreCase) && !rest.StartsWith("CMD\t", StringComparison.OrdinalIgnoreCase))
        {
            throw new DockerfileException($"line {line}: HEALTHCHECK takes CMD followed by a command (or NONE), e.g. HEALTHCHECK CMD test -f /tmp/ready", line);
        }
        var command = rest[3..].Trim();
        var json = Dockerfile.JsonArray(command);
        var shell = json is null ? command : string.Join(' ', json.Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
        long? interval = flags.TryGetValue("interval", out var i) ? Duration(i, line) : null;
        long? deadline = flags.TryGetValue("start-period", out var s) ? Duration(s, line) : flags.TryGetValue("timeout", out var t) ? Duration(t, line) : null;
        return new ProbeSpec("command", Command: shell, IntervalMs: interval, TimeoutMs: deadline);
    }

    /// <summary>A Go duration as Docker writes them ("30s", "1m30s", "500ms"), in milliseconds.</summary>
    private static long Duration(string text, int line)
    {
        var matches = DurationPart().Matches(text);
        if (matches.Count == 0 || string.Concat(matches.Select(m => m.Value)) != text)
        {
            throw new DockerfileException($"line {line}: '{text}' is not a duration (e.g. 30s, 1m30s, 500ms)", line);
        }
        double total = 0;
        foreach (Match m in matches)
        {
            var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch { "ms" => value, "s" => value * 1000, "m" => value * 60_000, _ => value * 3_600_000 };
        }
        return (long)total;
    }

    /// <summary>ARG NAME[=default] …, the defaults substituted.</summary>
    public static List<(string Name, string? Value)> ArgDeclarations(DockerfileInstruction instruction, char escape, Func<string, string?> lookup) =>
        Pairs(instruction, instruction.Arguments, lookup, legacy: false, escape);

    /// <summary>KEY=VALUE pairs of ENV, LABEL and ARG (ENV also takes the old "ENV KEY value with spaces").</summary>
    private static List<(string Name, string? Value)> Pairs(DockerfileInstruction instruction, string rest, Func<string, string?> lookup, bool legacy, char escape = '\\')
    {
        var line = instruction.Line;
        var pairs = new List<(string, string?)>();
        var first = rest.Split([' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries);
        if (first.Length == 0)
        {
            throw new DockerfileException($"line {line}: {instruction.Keyword} takes NAME=VALUE", line);
        }
        if (legacy && !first[0].Contains('=', StringComparison.Ordinal))
        {
            if (first.Length < 2)
            {
                throw new DockerfileException($"line {line}: ENV {first[0]} has no value: write ENV {first[0]}=VALUE", line);
            }
            pairs.Add((CheckName(first[0], line), Dockerfile.Words(first[1], lookup, escape, split: false, line)[0]));
            return pairs;
        }
        foreach (var word in Dockerfile.Words(rest, lookup, escape, split: true, line))
        {
            var equals = word.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0 && legacy)
            {
                throw new DockerfileException($"line {line}: '{word}' is not NAME=VALUE", line);
            }
            pairs.Add(equals < 0 ? (CheckName(word, line), null) : (CheckName(word[..equals], line), word[(equals + 1)..]));
        }
        return pairs;
    }

    private static string CheckName(string name, int line) => VariableName().IsMatch(name)
        ? name
        : throw new DockerfileException($"line {line}: '{name}' is not a variable name ([A-Za-z_][A-Za-z0-9_]*)", line);

    /// <summary>
    /// The build sandbox's user for a RUN: root for USER root or 0 (and without USER), "user" for
    /// uid 1000; a name is looked up in the image's /etc/passwd. Other uids are refused: a sandbox
    /// runs commands as 0 or 1000.
    /// </summary>
    public string SandboxUser(IReadOnlyList<string> layerDirs, int line)
    {
        if (User is null)
        {
            return "root";
        }
        var name = User.Split(':')[0];
        var uid = Uid(name, layerDirs, line);
        return uid switch
        {
            0 => "root",
            1000 => "user",
            _ => throw new DockerfileException($"line {line}: USER {User} is uid {uid}: Hutch runs build steps as root (0) or uid 1000; make the user with uid 1000 (useradd -u 1000 …)", line),
        };
    }

    /// <summary>COPY --chown=USER[:GROUP], names looked up in the image's /etc/passwd and /etc/group.</summary>
    public (int Uid, int Gid) Owner(string spec, IReadOnlyList<string> layerDirs, int line)
    {
        var parts = spec.Split(':', 2);
        var uid = Uid(parts[0], layerDirs, line);
        int gid;
        if (parts.Length == 2)
        {
            gid = Id(parts[1], "etc/group", layerDirs, line, "group");
        }
        else if (int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            gid = uid;
        }
        else
        {
            gid = Field(parts[0], "etc/passwd", 3, layerDirs) ?? uid;
        }
        return (uid, gid);
    }

    private static int Uid(string name, IReadOnlyList<string> layerDirs, int line) => Id(name, "etc/passwd", layerDirs, line, "user");

    private static int Id(string name, string file, IReadOnlyList<string> layerDirs, int line, string what)
    {
        if (int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return number <= 65535 ? number : throw new DockerfileException($"line {line}: {what} id {name} is past 65535, the ids a sandbox maps", line);
        }
        if (name == "root")
        {
            return 0;
        }
        return Field(name, file, 2, layerDirs)
            ?? (name == "user" && what == "user" || name == "user" && what == "group" ? 1000
                : throw new DockerfileException($"line {line}: the image has no {what} '{name}' in /{file}: make it in a RUN step first, or give a number", line));
    }

    private static int? Field(string name, string file, int field, IReadOnlyList<string> layerDirs)
    {
        var text = CopyLayer.ReadText(layerDirs, file, 1 << 20);
        foreach (var row in (text ?? "").Split('\n'))
        {
            var fields = row.Split(':');
            if (fields.Length > field && fields[0] == name && int.TryParse(fields[field], NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id <= 65535)
            {
                return id;
            }
        }
        return null;
    }

    /// <summary>An absolute path cleaned lexically ("..", ".", "//"), as Docker does, relative to the root; null for the root itself.</summary>
    public static string? Clean(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                continue;
            }
            parts.Add(part);
        }
        return parts.Count == 0 ? null : string.Join('/', parts);
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|s|m|h)")]
    private static partial Regex DurationPart();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex VariableName();
}
