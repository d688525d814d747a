using Hutch.Protocol.Api;

namespace Hutch.Daemon;

/// <summary>
/// Everything Hutch does to sandboxes, independent of HTTP: the daemon's endpoints call it, and
/// `hutch run` uses it in-process when no daemon answers. Failures are <see cref="HutchException"/>
/// with a stable <see cref="ErrorCodes"/> code.
/// </summary>
public interface ISandboxEngine : IAsyncDisposable
{
    /// <param name="hostWorkspace">
    /// In-process callers only (never reachable over HTTP): bind this existing host directory as
    /// /workspace instead of a fresh one, and never delete it.
    /// </param>
    Task<SandboxInfo> CreateAsync(CreateSandboxRequest request, string? hostWorkspace = null, CancellationToken cancellationToken = default);

    Task<SandboxInfo> GetAsync(string idOrName, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<SandboxInfo>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Kills everything, removes cgroup, mounts and bundle; the workspace too unless kept. Deleting twice is fine.</summary>
    Task DeleteAsync(string idOrName, bool keepWorkspace = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lets the sandbox outlive this engine. An in-process engine (`hutch run`) deletes what it made
    /// when disposed; a kept sandbox is handed to whichever daemon runs next, which adopts it. A
    /// daemon keeps its sandboxes anyway, so the default does nothing.
    /// </summary>
    Task KeepAsync(string idOrName, CancellationToken cancellationToken = default) => Task.CompletedTask;

    /// <summary>Runs a command to completion and returns its collected output.</summary>
    Task<ExecResult> ExecAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs a command and yields start, stdout, stderr and exit (or error) events as they happen.
    /// Cancelling the enumeration leaves the command running unless <see cref="ExecRequest.KillOnDisconnect"/>.
    /// </summary>
    IAsyncEnumerable<ExecEvent> ExecStreamAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default);
}
