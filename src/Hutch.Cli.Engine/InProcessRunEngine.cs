using Hutch.Cli.Engines;
using Hutch.Daemon;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Engine;

/// <summary>The daemon's engine, in this process, as `hutch run` sees an engine.</summary>
internal sealed class InProcessRunEngine(ISandboxEngine engine) : IRunEngine
{
    public Task<SandboxInfo> CreateAsync(CreateSandboxRequest request, string? hostWorkspace = null, CancellationToken cancellationToken = default) =>
        engine.CreateAsync(request, hostWorkspace, cancellationToken);

    public Task DeleteAsync(string idOrName, bool keepWorkspace = false, CancellationToken cancellationToken = default) =>
        engine.DeleteAsync(idOrName, keepWorkspace, cancellationToken);

    public Task KeepAsync(string idOrName, CancellationToken cancellationToken = default) =>
        engine.KeepAsync(idOrName, cancellationToken);

    public Task<ExecResult> ExecAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default) =>
        engine.ExecAsync(idOrName, request, cancellationToken);

    public IAsyncEnumerable<ExecEvent> ExecStreamAsync(string idOrName, ExecRequest request, CancellationToken cancellationToken = default) =>
        engine.ExecStreamAsync(idOrName, request, cancellationToken);

    public ValueTask DisposeAsync() => engine.DisposeAsync();
}
