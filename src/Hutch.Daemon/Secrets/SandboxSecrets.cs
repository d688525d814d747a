using System.Collections.Concurrent;
using System.Text;
using Hutch.Daemon.Network;
using Hutch.Daemon.Registry;
using Hutch.Protocol.Redaction;

namespace Hutch.Daemon.Secrets;

/// <summary>
/// Secrets as a part of sandboxes: <c>secrets</c> at create is checked and recorded (references in
/// <c>secret_uses</c>, never values), every command start gets the current values as environment
/// variables, and the values of every version of every secret a sandbox uses make up its redaction
/// set, rebuilt when a value changes.
/// </summary>
public sealed class SandboxSecrets(SecretStore store) : ISandboxSetting, ISandboxObserver, ISandboxSecrets
{
    public const int MaxUses = 32;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ConcurrentDictionary<string, SecretUseInfo[]> _uses = new();
    private readonly ConcurrentDictionary<string, (long Generation, RedactionSet Set)> _redaction = new();

    /// <summary>Sandboxes that use secrets: counted from the store at start, then kept as they come and go.</summary>
    private int _users = store.CountUsers();

    public bool InUse => Volatile.Read(ref _users) > 0;

    public void Validate(CreateSandboxRequest request) => _ = Resolve(request);

    public Task<SandboxRecord> ApplyAsync(SandboxRecord record, CreateSandboxRequest request, CancellationToken cancellationToken)
    {
        var uses = Resolve(request);
        if (uses.Length > 0)
        {
            store.RecordUses(record.Id, uses);
            Interlocked.Increment(ref _users);
        }
        _uses[record.Id] = uses;
        return Task.FromResult(record);
    }

    public Task UpdateAsync(SandboxRecord record, UpdateSandboxRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    public SandboxInfo Describe(SandboxInfo info) => UsesOf(info.Id) is { Length: > 0 } uses ? info with { Secrets = uses } : info;

    public void Adopted(SandboxRecord record)
    {
        // Read again from the store at first use.
    }

    public Task DeletingAsync(string sandboxId)
    {
        // Once per sandbox, however often a delete is retried: what the store no longer has is not counted again.
        var had = _uses.TryRemove(sandboxId, out var cached) ? cached : store.UsesOf(sandboxId);
        if (had.Length > 0 && store.UsesOf(sandboxId).Length > 0)
        {
            Interlocked.Decrement(ref _users);
        }
        store.ForgetUses(sandboxId);
        _redaction.TryRemove(sandboxId, out _);
        return Task.CompletedTask;
    }

    public IReadOnlyDictionary<string, string> EnvOf(string sandboxId)
    {
        var uses = UsesOf(sandboxId);
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var use in uses)
        {
            // A secret deleted with force is no longer given to new commands.
            if (use.As == SecretKinds.Env && store.Exists(use.Name))
            {
                var value = store.Open(use.Name);
                try
                {
                    env[use.Env] = StrictUtf8.GetString(value);
                }
                finally
                {
                    Array.Clear(value);
                }
            }
        }
        return env;
    }

    public RedactionSet RedactionOf(string sandboxId)
    {
        var uses = UsesOf(sandboxId);
        if (uses.Length == 0)
        {
            return RedactionSet.Empty;
        }
        var generation = store.Generation;
        if (_redaction.TryGetValue(sandboxId, out var cached) && cached.Generation == generation)
        {
            return cached.Set;
        }
        var values = store.AllVersions(uses.Select(u => u.Name));
        var set = RedactionSet.Of(values.Select(v => new RedactedSecret(v.Name, v.Value)));
        foreach (var (_, value) in values)
        {
            Array.Clear(value);
        }
        _redaction[sandboxId] = (generation, set);
        return set;
    }

    private SecretUseInfo[] UsesOf(string sandboxId) => _uses.GetOrAdd(sandboxId, store.UsesOf);

    /// <summary>The request's uses, each checked (400 naming <c>secrets[i]</c>), with their defaults filled in.</summary>
    private SecretUseInfo[] Resolve(CreateSandboxRequest request)
    {
        if (request.Secrets is not { Length: > 0 } given)
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
            if (!store.Exists(name))
            {
                throw new HutchException(ErrorCodes.UnknownSecret, $"{field}.name: no secret is named {name}. Store it first (`hutch secret set {name}`, POST /v1/secrets).");
            }
            if ((use.As ?? SecretKinds.Env) != SecretKinds.Env)
            {
                throw SecretValidator.Invalid($"{field}.as: '{Quoted.Clip(use.As!, 64)}' is not a way in that this daemon has; env is (the value in an environment variable).");
            }
            var env = use.Env ?? name;
            if (!SecretValidator.IsEnvName(env))
            {
                throw SecretValidator.Invalid($"{field}.env: '{Quoted.Clip(env, 64)}' is not an environment variable's name (letters, digits and _, not starting with a digit)");
            }
            if (CommandEnvironment.BaseNames.Contains(env) || request.Env?.ContainsKey(env) == true || uses.Any(u => u.Env == env))
            {
                throw new HutchException(ErrorCodes.SecretEnvConflict,
                    $"{field}.env: {env} is already set by {(CommandEnvironment.BaseNames.Contains(env) ? "Hutch itself" : request.Env?.ContainsKey(env) == true ? "the sandbox's env" : "another secret")}; give this secret another variable (\"env\": \"…\").");
            }
            var value = store.Open(name);
            try
            {
                _ = StrictUtf8.GetString(value);
                if (value.Contains((byte)0))
                {
                    throw new ArgumentException("NUL");
                }
            }
            catch (ArgumentException)
            {
                throw SecretValidator.Invalid($"{field}: the value of {name} is not text without NUL bytes, so it cannot be an environment variable");
            }
            finally
            {
                Array.Clear(value);
            }
            uses.Add(new SecretUseInfo(name, SecretKinds.Env, env));
        }
        return [.. uses];
    }
}
