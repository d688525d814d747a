namespace Hutch.Daemon.Sandboxes;

/// <summary>The whole environment of a command: Hutch's base, then the sandbox's, then the command's own.</summary>
public static class CommandEnvironment
{
    public static Dictionary<string, string> Of(LiveSandbox live, Dictionary<string, string> commandEnv)
    {
        var user = live.Record.User;
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ["HOME"] = Hutch.Runtime.Oci.SandboxSpec.HomeOf(live.Record.SandboxUid),
            ["USER"] = user,
            ["LOGNAME"] = user,
            ["LANG"] = "C.UTF-8",
            ["HOSTNAME"] = live.Record.Id,
        };
        foreach (var (k, v) in live.Record.Env)
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
