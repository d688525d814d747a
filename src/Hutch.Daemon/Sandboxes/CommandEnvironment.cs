using Hutch.Daemon.Registry;

namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// What a sandbox's secrets add to a command's environment: <paramref name="Variables"/> (env values
/// and placeholders), which nothing may replace, and <paramref name="Trust"/> (where TLS clients find
/// the bundle with the sandbox's CA), which the sandbox's or command's env may (that only breaks
/// its own TLS).
/// </summary>
public sealed record SecretEnvironment(IReadOnlyDictionary<string, string> Variables, IReadOnlyDictionary<string, string> Trust)
{
    public static SecretEnvironment Empty { get; } = new(new Dictionary<string, string>(), new Dictionary<string, string>());
}

/// <summary>The whole environment of a command: Hutch's base and trust variables, then the sandbox's, then its secrets, then the command's own.</summary>
public static class CommandEnvironment
{
    /// <summary>
    /// The egress proxy in the sandbox's netns (docs/network.md), whatever the policy: a program that
    /// honours these asks the proxy and reads its 403 when refused; a PATCH that lets traffic out
    /// then needs no restart. With policy none nothing listens there and a connect fails at once.
    /// </summary>
    private static readonly string Proxy = $"http://127.0.0.1:{Hutch.Runtime.Network.EgressPlumbing.ProxyPort}";

    /// <summary>Loopback stays direct: a program's own servers in the sandbox are never proxied.</summary>
    private const string NoProxy = "localhost,127.0.0.1,::1";

    /// <summary>Hutch's own variables, the base of every command's environment.</summary>
    private static readonly (string Name, Func<SandboxRecord, string> Value)[] Base =
    [
        ("PATH", _ => "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        ("HOME", r => Hutch.Runtime.Oci.SandboxSpec.HomeOf(r.SandboxUid)),
        ("USER", r => r.User),
        ("LOGNAME", r => r.User),
        ("LANG", _ => "C.UTF-8"),
        ("HOSTNAME", r => r.Id),
        ("HTTP_PROXY", _ => Proxy),
        ("HTTPS_PROXY", _ => Proxy),
        ("http_proxy", _ => Proxy),
        ("https_proxy", _ => Proxy),
        ("NO_PROXY", _ => NoProxy),
        ("no_proxy", _ => NoProxy),
    ];

    /// <summary>The variables Hutch itself sets: a secret may not take one's name.</summary>
    public static IReadOnlySet<string> BaseNames { get; } = Base.Select(b => b.Name).ToHashSet(StringComparer.Ordinal);

    public static Dictionary<string, string> Of(LiveSandbox live, Dictionary<string, string> commandEnv, SecretEnvironment secrets)
    {
        var secretEnv = secrets.Variables;
        if (commandEnv.Keys.FirstOrDefault(secretEnv.ContainsKey) is { } taken)
        {
            throw new HutchException(ErrorCodes.SecretEnvConflict,
                $"env.{taken}: the sandbox's secret already sets {taken}; leave it out of the command's env (a command cannot replace a secret's variable).");
        }
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in Base)
        {
            env[name] = value(live.Record);
        }
        foreach (var (k, v) in secrets.Trust)
        {
            env[k] = v;
        }
        foreach (var (k, v) in live.Record.Env)
        {
            env[k] = v;
        }
        foreach (var (k, v) in secretEnv)
        {
            env[k] = v;
        }
        foreach (var (k, v) in commandEnv)
        {
            env[k] = v;
        }
        return env;
    }
}
