using Hutch.Protocol.Api;

namespace Hutch.Cli.Engines;

/// <summary>
/// What `hutch run` needs of wherever its sandbox lives: a running daemon over HTTP
/// (<see cref="DaemonEngine"/>) or the engine in this process (hutch-engine). Failures are
/// <see cref="CodedException"/>s with a stable code either way.
/// </summary>
internal interface IRunEngine : IAsyncDisposable
{
    /// <param name="hostWorkspace">In-process only: bind this existing host directory as /workspace, never deleted.</param>
    Task<SandboxInfo> CreateAsync(CreateSandboxRequest request, string? hostWorkspace = null, CancellationToken cancellationToken = default);

    Task DeleteAsync(string idOrName, bool keepWorkspace = false, CancellationToken cancellationToken = default);

    /// <summary>Lets the sandbox outlive this engine (an in-process engine otherwise deletes what it made when disposed).</summary>
    Task KeepAsync(string idOrName, CancellationToken cancellationToken = default) => Task.CompletedTask;

    Task<ExecResult> ExecAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default);

    IAsyncEnumerable<ExecEvent> ExecStreamAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default);
}
