using Hutch.Daemon;

namespace Hutch.Cli;

/// <summary>The CLI's two entry points into Hutch.Daemon: hosting the daemon, and the engine in-process.</summary>
internal static class DaemonWiring
{
    /// <summary>`hutch serve`: runs the daemon until the token is cancelled; returns its exit status.</summary>
    public static Task<int> RunDaemonAsync(HutchOptions options, CancellationToken cancellationToken) =>
        DaemonHost.RunAsync(options, cancellationToken);

    /// <summary>`hutch run` without a daemon: the engine in this process, on the same data dir a daemon would use.</summary>
    public static Task<ISandboxEngine> OpenInProcessEngineAsync(HutchOptions options, CancellationToken cancellationToken) =>
        SandboxEngine.OpenInProcessAsync(options, cancellationToken);
}
