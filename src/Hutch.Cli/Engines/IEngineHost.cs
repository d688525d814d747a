using Hutch.Cli.Doctor;

namespace Hutch.Cli.Engines;

/// <summary>
/// What only hutch-engine can do: host the daemon, check the host, run the engine in-process. The
/// NativeAOT `hutch` carries none of it (<see cref="EngineHandoff"/> replaces itself with hutch-engine);
/// hutch-engine plugs in the real thing. Both run the same command tree.
/// </summary>
internal interface IEngineHost
{
    /// <summary>`hutch serve`: runs the daemon until the token is cancelled; returns its exit status.</summary>
    Task<int> ServeAsync(EngineSettings settings, CancellationToken cancellationToken);

    /// <summary>`hutch doctor`'s checks of this host.</summary>
    Task<IReadOnlyList<DoctorCheck>> CheckHostAsync(EngineSettings settings, CancellationToken cancellationToken);

    /// <summary>`hutch run` without a daemon: the engine in this process, on the data dir a daemon would use.</summary>
    Task<IRunEngine> OpenInProcessAsync(CancellationToken cancellationToken);

    /// <summary>`hutch mcp`: an MCP server on stdin and stdout until the client closes it; returns the exit status.</summary>
    Task<int> ServeMcpAsync(McpStart start, CancellationToken cancellationToken);
}

/// <summary>`hutch mcp`'s flags: the profile, how long a session's sandbox outlives it, the output budget (null: the defaults).</summary>
internal sealed record McpStart(string Profile, TimeSpan? KeepAfter, int? MaxOutputBytes);

/// <summary>The engine's flags as given on the command line; null means the environment's default (HUTCH_*).</summary>
internal sealed record EngineSettings(string? Url = null, string? DataDir = null, string? Runtime = null);
