using Hutch.Cli.Doctor;
using Hutch.Cli.Engines;
using Hutch.Daemon;

namespace Hutch.Cli.Engine;

/// <summary>hutch-engine's side of <see cref="IEngineHost"/>: Hutch.Daemon hosted, or run in this process.</summary>
internal sealed class InProcessEngineHost : IEngineHost
{
    public Task<int> ServeAsync(EngineSettings settings, CancellationToken cancellationToken) =>
        DaemonHost.RunAsync(ToOptions(settings), cancellationToken);

    public Task<IReadOnlyList<DoctorCheck>> CheckHostAsync(EngineSettings settings, CancellationToken cancellationToken) =>
        HostChecks.RunAllAsync(ToOptions(settings), cancellationToken);

    public async Task<IRunEngine> OpenInProcessAsync(CancellationToken cancellationToken) =>
        new InProcessRunEngine(await SandboxEngine.OpenInProcessAsync(new HutchOptions(), cancellationToken).ConfigureAwait(false));

    public Task<int> ServeMcpAsync(McpStart start, CancellationToken cancellationToken) => McpStdioHost.RunAsync(start, cancellationToken);

    /// <summary>Flags over the environment's defaults (HutchOptions reads HUTCH_* itself).</summary>
    public static HutchOptions ToOptions(EngineSettings settings)
    {
        var options = new HutchOptions();
        return options with
        {
            Url = settings.Url ?? options.Url,
            DataDir = settings.DataDir is null ? options.DataDir : Path.GetFullPath(settings.DataDir),
            Runtime = settings.Runtime ?? options.Runtime,
        };
    }
}
