namespace Hutch.Daemon.Sandboxes;

/// <summary>The whole environment of a command: Hutch's base, then the sandbox's, then its secrets, then the command's own.</summary>
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

    /// <summary>The variables Hutch itself sets: a secret may not take one's name.</summary>
    public static IReadOnlySet<string> BaseNames { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "PATH", "HOME", "USER", "LOGNAME", "LANG", "HOSTNAME", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy",
    };

    public static Dictionary<string, string> Of(LiveSandbox live, Dictionary<string, string> commandEnv, IReadOnlyDictionary<string, string> secretEnv)
    {
        foreach (var name in commandEnv.Keys.Where(secretEnv.ContainsKey))
        {
            throw new HutchException(ErrorCodes.SecretEnvConflict,
                $"env.{name}: the sandbox's secret already sets {name}; leave it out of the command's env (a command cannot replace a secret's variable).");
        }
        var user = live.Record.User;
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ["HOME"] = Hutch.Runtime.Oci.SandboxSpec.HomeOf(live.Record.SandboxUid),
            ["USER"] = user,
            ["LOGNAME"] = user,
            ["LANG"] = "C.UTF-8",
            ["HOSTNAME"] = live.Record.Id,
            ["HTTP_PROXY"] = Proxy,
            ["HTTPS_PROXY"] = Proxy,
            ["http_proxy"] = Proxy,
            ["https_proxy"] = Proxy,
            ["NO_PROXY"] = NoProxy,
            ["no_proxy"] = NoProxy,
        };
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
