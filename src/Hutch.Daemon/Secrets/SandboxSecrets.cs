using System.Collections.Concurrent;
using System.Text;
using Hutch.Daemon.Network;
using Hutch.Daemon.Registry;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Redaction;
using Hutch.Runtime.AgentLink;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Secrets;

/// <summary>
/// Secrets as a part of sandboxes: <c>secrets</c> at create is checked and recorded (references in
/// <c>secret_uses</c>, never values), every command start gets the current values as environment
/// variables, file secrets are written into the sandbox's <c>/run/secrets</c> by its agent (at
/// create, at a process start that brings one, and again at each rotation), and the values of every version of every secret a sandbox uses make up its redaction
/// set, rebuilt when a value changes.
/// </summary>
public sealed class SandboxSecrets(SecretStore store, SandboxDirectory directory, SandboxPlaceholders placeholders, ILogger log)
    : ISandboxSetting, ISandboxObserver, ISandboxSecrets
{
    public const int MaxUses = 32;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Each sandbox's own uses (every command's), as the store has them.</summary>
    private readonly ConcurrentDictionary<string, SecretUseInfo[]> _uses = new();
    private readonly ConcurrentDictionary<string, (long Generation, RedactionSet Set, RedactedSecret[]? ForAgent)> _redaction = new();

    /// <summary>
    /// The most value bytes sent with a command start for the agent to redact its logs with, newest
    /// versions first: with the command's own argv and env they must fit one control frame. Older
    /// versions past it are still redacted by the daemon when the log is read.
    /// </summary>
    public const int MaxAgentRedactionBytes = 192 << 10;

    /// <summary>The sandboxes that use a secret in any scope: read from the store at start, then kept as they come and go.</summary>
    private readonly ConcurrentDictionary<string, bool> _users = new(store.Users().Select(id => KeyValuePair.Create(id, true)));

    public bool InUse => !_users.IsEmpty;

    public void Validate(CreateSandboxRequest request) => _ = Resolve(request.Secrets, request.Env, []);

    public async Task<SandboxRecord> ApplyAsync(SandboxRecord record, CreateSandboxRequest request, CancellationToken cancellationToken)
    {
        var uses = Resolve(request.Secrets, request.Env, []);
        if (uses.Length > 0)
        {
            store.RecordUses(record.Id, SecretStore.SandboxScope, uses);
            _users[record.Id] = true;
            _redaction.TryRemove(record.Id, out _);
        }
        _uses[record.Id] = uses;
        if (uses.Any(IsPlaceholder))
        {
            placeholders.Prepare(record.Id);
        }
        if (uses.Any(IsFile))
        {
            await WriteFilesAsync(await directory.LiveAsync(record.Id, cancellationToken).ConfigureAwait(false), uses, cancellationToken).ConfigureAwait(false);
        }
        return record;
    }

    public Task UpdateAsync(SandboxRecord record, UpdateSandboxRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    public SandboxInfo Describe(SandboxInfo info) => UsesOf(info.Id) is { Length: > 0 } uses ? info with { Secrets = uses } : info;

    public void Adopted(SandboxRecord record)
    {
        // Read again from the store at first use.
    }

    public Task DeletingAsync(string sandboxId)
    {
        store.ForgetUses(sandboxId);
        _users.TryRemove(sandboxId, out _);
        _uses.TryRemove(sandboxId, out _);
        _redaction.TryRemove(sandboxId, out _);
        placeholders.Forget(sandboxId);
        return Task.CompletedTask;
    }

    public SecretEnvironment EnvOf(string sandboxId) => Env(sandboxId, UsesOf(sandboxId));

    public async Task<SecretEnvironment> CommandEnvAsync(LiveSandbox live, SecretUse[]? commandUses,
        IReadOnlyDictionary<string, string>? commandEnv, CancellationToken cancellationToken)
    {
        var sandboxId = live.Record.Id;
        var uses = UsesOf(sandboxId);
        if (commandUses is not { Length: > 0 })
        {
            return Env(sandboxId, uses);
        }
        // Checked against the sandbox's own and the command's env; recorded before the value is out, so redaction knows it.
        var extra = Resolve(commandUses, commandEnv, uses);
        store.RecordUses(sandboxId, SecretStore.CommandScope, extra);
        _users[sandboxId] = true;
        _redaction.TryRemove(sandboxId, out _);
        if (extra.Any(IsPlaceholder))
        {
            placeholders.Prepare(sandboxId);
        }
        await WriteFilesAsync(live, extra, cancellationToken).ConfigureAwait(false);
        return Env(sandboxId, [.. uses, .. extra]);
    }

    /// <summary>
    /// A rotation: every running sandbox that has the secret as a file gets the new value there now
    /// (env values reach new commands by themselves). A sandbox whose agent cannot take it is logged
    /// and left with the old value; the rotation itself stands.
    /// </summary>
    public async Task RotatedAsync(string name)
    {
        foreach (var (sandboxId, file) in store.FileUses(name))
        {
            if (!directory.IsLive(sandboxId))
            {
                continue;
            }
            try
            {
                var live = await directory.LiveAsync(sandboxId, CancellationToken.None).ConfigureAwait(false);
                await WriteFilesAsync(live, [new SecretUseInfo(name, SecretKinds.File, null, file)], CancellationToken.None).ConfigureAwait(false);
            }
            catch (HutchException e)
            {
                Log.SecretFileNotRotated(log, sandboxId, name, e.Message);
            }
        }
    }

    /// <summary>
    /// The variables of env uses (each secret's current value; one deleted with force is no longer
    /// given) and of placeholder uses, and the trust variables when one is a placeholder.
    /// </summary>
    private SecretEnvironment Env(string sandboxId, IEnumerable<SecretUseInfo> uses)
    {
        if (!_users.ContainsKey(sandboxId))
        {
            return SecretEnvironment.Empty;
        }
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var use in uses)
        {
            if (use is { As: SecretKinds.Placeholder, Env: { } holder })
            {
                env[holder] = placeholders.PlaceholderOf(sandboxId, use.Name);
            }
            else if (use is { As: SecretKinds.Env, Env: { } variable } && store.TryOpen(use.Name) is { } value)
            {
                try
                {
                    env[variable] = StrictUtf8.GetString(value);
                }
                finally
                {
                    Array.Clear(value);
                }
            }
        }
        // A command that holds a placeholder finds the sandbox's CA (Prepare wrote it when the use was recorded).
        return new SecretEnvironment(env, uses.Any(IsPlaceholder) ? SandboxPlaceholders.TrustVariables : SecretEnvironment.Empty.Trust);
    }

    private static bool IsPlaceholder(SecretUseInfo use) => use.As == SecretKinds.Placeholder;

    /// <summary>A use that is a file in /run/secrets: the value (kind file) or the placeholder.</summary>
    private static bool IsFile(SecretUseInfo use) => use.File is not null;

    /// <summary>Has the sandbox's agent write each file use's current value into /run/secrets (replacing what is there).</summary>
    private async Task WriteFilesAsync(LiveSandbox live, IEnumerable<SecretUseInfo> uses, CancellationToken cancellationToken)
    {
        foreach (var use in uses.Where(IsFile))
        {
            var value = use.As == SecretKinds.Placeholder
                ? Encoding.ASCII.GetBytes(placeholders.PlaceholderOf(live.Record.Id, use.Name))
                : store.TryOpen(use.Name);
            if (value is null)
            {
                continue;
            }
            var path = $"{SecretKinds.FileDir}/{use.File}";
            try
            {
                await live.Connection.RequestAsync(FrameKind.SecretFile, new SecretFile(use.File!, value), AgentJsonContext.Default.SecretFile, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (AgentException e)
            {
                throw new HutchException(ErrorCodes.SecretFileFailed, $"The sandbox {live.Record.Id} could not write {path}: {e.Error.Message}");
            }
            catch (Exception e) when (AgentFailures.IsDeadConnection(e))
            {
                throw AgentFailures.Died(live, e.Message);
            }
            finally
            {
                Array.Clear(value);
            }
        }
    }

    public RedactionSet RedactionOf(string sandboxId) => Redaction(sandboxId).Set;

    public RedactedSecret[]? AgentRedactionOf(string sandboxId) => Redaction(sandboxId).ForAgent;

    private (long Generation, RedactionSet Set, RedactedSecret[]? ForAgent) Redaction(string sandboxId)
    {
        if (!_users.ContainsKey(sandboxId))
        {
            return (0, RedactionSet.Empty, null);
        }
        var generation = store.Generation;
        if (_redaction.TryGetValue(sandboxId, out var cached) && cached.Generation == generation)
        {
            return cached;
        }
        var secrets = store.AllVersions(store.NamesUsedBy(sandboxId)).Select(v => new RedactedSecret(v.Name, v.Value)).ToArray();
        // A placeholder's value never reaches the sandbox, so its agent is not given it either.
        var held = store.NamesHeldBy(sandboxId).ToHashSet(StringComparer.Ordinal);
        // Kept as long as the set, which holds the same bytes in every form anyway.
        var entry = (generation, RedactionSet.Of(secrets), ForAgent([.. secrets.Where(s => held.Contains(s.Name))]));
        _redaction[sandboxId] = entry;
        return entry;
    }

    /// <summary>Newest versions first (AllVersions lists each name's oldest first), within <see cref="MaxAgentRedactionBytes"/>.</summary>
    private static RedactedSecret[]? ForAgent(RedactedSecret[] secrets)
    {
        var chosen = new List<RedactedSecret>();
        var bytes = 0;
        foreach (var secret in secrets.Reverse())
        {
            if (bytes + secret.Value.Length <= MaxAgentRedactionBytes)
            {
                chosen.Add(secret);
                bytes += secret.Value.Length;
            }
        }
        return chosen.Count == 0 ? null : [.. chosen];
    }

    /// <summary>Whether a value can be an environment variable's: UTF-8 text without NUL bytes.</summary>
    private static bool IsEnvText(byte[] value)
    {
        try
        {
            _ = StrictUtf8.GetString(value);
        }
        catch (ArgumentException)
        {
            return false;
        }
        return !value.Contains((byte)0);
    }

    private SecretUseInfo[] UsesOf(string sandboxId) => _uses.GetOrAdd(sandboxId, id => store.UsesOf(id));

    /// <summary>
    /// Uses as given, each checked (400 naming <c>secrets[i]</c>) against <paramref name="env"/> (the
    /// sandbox's or the command's) and <paramref name="taken"/> (uses already in force), with their
    /// defaults filled in.
    /// </summary>
    private SecretUseInfo[] Resolve(SecretUse[]? given, IReadOnlyDictionary<string, string>? env, SecretUseInfo[] taken)
    {
        if (given is not { Length: > 0 })
        {
            return [];
        }
        if (given.Length > MaxUses)
        {
            throw SecretValidator.Invalid($"secrets: at most {MaxUses} per sandbox");
        }
        var uses = new List<SecretUseInfo>();
        for (var i = 0; i < given.Length; i++)
        {
            var field = $"secrets[{i}]";
            var use = given[i] ?? throw SecretValidator.Invalid($"{field}: null");
            var name = SecretValidator.Name(use.Name, $"{field}.name");
            var value = store.TryOpen(name)
                ?? throw new HutchException(ErrorCodes.UnknownSecret, $"{field}.name: no secret is named {name}. Store it first (`hutch secret set {name}`, POST /v1/secrets).");
            var isText = IsEnvText(value);
            Array.Clear(value);
            var hasHosts = store.HostsOf(name).Length > 0;
            // A secret with hosts comes in as a placeholder unless asked otherwise: the value then never enters the sandbox.
            var kind = use.As ?? (hasHosts ? SecretKinds.Placeholder : SecretKinds.Env);
            if (kind == SecretKinds.File || (kind == SecretKinds.Placeholder && use.File is not null && hasHosts))
            {
                uses.Add(FileUse(field, name, kind, use, uses, taken));
                continue;
            }
            if (kind is not (SecretKinds.Env or SecretKinds.Placeholder))
            {
                throw SecretValidator.Invalid($"{field}.as: '{Quoted.Clip(kind, 64)}' is not a way in that this daemon has: "
                    + $"placeholder (swapped for the value in requests to the secret's hosts), env (an environment variable) or file (a file in {SecretKinds.FileDir}).");
            }
            if (kind == SecretKinds.Placeholder && !hasHosts)
            {
                throw SecretValidator.Invalid($"{field}.as: {name} has no hosts, so a placeholder would never be swapped for it; "
                    + "give the secret hosts (`hutch secret set --host`), or use as: env or file.");
            }
            if (use.File is not null)
            {
                throw SecretValidator.Invalid($"{field}.file: only a file or placeholder use has a file (an env use has \"env\")");
            }
            var variable = use.Env ?? name;
            if (!SecretValidator.IsEnvName(variable))
            {
                throw SecretValidator.Invalid($"{field}.env: '{Quoted.Clip(variable, 64)}' is not an environment variable's name (letters, digits and _, not starting with a digit)");
            }
            var setBy = CommandEnvironment.BaseNames.Contains(variable) ? "Hutch itself"
                : env?.ContainsKey(variable) == true ? "the env given with it"
                : uses.Concat(taken).Any(u => u.Env == variable) ? "another secret"
                : null;
            if (setBy is not null)
            {
                throw new HutchException(ErrorCodes.SecretEnvConflict,
                    $"{field}.env: {variable} is already set by {setBy}; give this secret another variable (\"env\": \"…\").");
            }
            if (!isText && kind == SecretKinds.Env)
            {
                throw SecretValidator.Invalid($"{field}: the value of {name} is not text without NUL bytes, so it cannot be an environment variable (as: file takes any bytes)");
            }
            uses.Add(new SecretUseInfo(name, kind, variable));
        }
        return [.. uses];
    }

    /// <summary>A file use, checked: its name, and no other use writing the same file.</summary>
    private static SecretUseInfo FileUse(string field, string name, string kind, SecretUse use, List<SecretUseInfo> uses, SecretUseInfo[] taken)
    {
        if (use.Env is not null)
        {
            throw SecretValidator.Invalid($"{field}.env: a use with a file has no variable (give one or the other)");
        }
        var file = use.File ?? name;
        if (!SecretFile.IsValidName(file))
        {
            throw SecretValidator.Invalid($"{field}.file: '{Quoted.Clip(file, 64)}' is not a file name for {SecretKinds.FileDir} (1-128 of letters, digits, '.', '_' and '-', not starting with '.')");
        }
        if (uses.Concat(taken).Any(u => u.File == file))
        {
            throw new HutchException(ErrorCodes.SecretEnvConflict,
                $"{field}.file: {SecretKinds.FileDir}/{file} is already written by another secret; give this one another file (\"file\": \"…\").");
        }
        return new SecretUseInfo(name, kind, null, file);
    }
}
