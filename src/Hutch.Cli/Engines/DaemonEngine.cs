using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Engines;

/// <summary>
/// A running daemon seen through the engine contract, so that `hutch run` has one code path whether
/// the sandbox lives in a daemon (over HTTP) or in this process.
/// </summary>
internal sealed class DaemonEngine(HutchClient client) : IRunEngine
{
    public Task<SandboxInfo> CreateAsync(CreateSandboxRequest request, string? hostWorkspace = null, CancellationToken cancellationToken = default) =>
        hostWorkspace is null
            ? client.CreateSandboxAsync(request, cancellationToken)
            : throw new CliException(ErrorCodes.InvalidRequest, "a host workspace can only be bound in-process, never through the daemon's API");

    /// <summary>
    /// `run` does not wait for the teardown (runc, cgroups, files: most of a short run's time): the
    /// daemon has taken the delete on, which it finishes and retries on its own.
    /// </summary>
    public Task DeleteAsync(string idOrName, bool keepWorkspace = false, CancellationToken cancellationToken = default) =>
        client.BeginDeleteSandboxAsync(idOrName, keepWorkspace, cancellationToken);

    public Task<ExecResult> ExecAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default) =>
        client.ExecAsync(idOrName, request, cancellationToken);

    public IAsyncEnumerable<ExecEvent> ExecStreamAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default) =>
        client.ExecStreamAsync(idOrName, request, cancellationToken);

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        return ValueTask.CompletedTask;
    }
}
