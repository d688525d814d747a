using Hutch.Protocol.Api;

namespace Hutch.Client;

// Health and the sandbox lifecycle: GET /v1/health, POST/GET/PATCH/DELETE /v1/sandboxes[/{idOrName}].
public sealed partial class HutchClient
{
    /// <summary>Asks the daemon whether it is up (<c>GET /v1/health</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The daemon's status, version, OCI runtime and sandbox count.</returns>
    public Task<Health> HealthAsync(CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, "v1/health"), Json.Health, cancellationToken);

    /// <summary>Creates and starts a sandbox (<c>POST /v1/sandboxes</c>); it is ready for exec when this returns.</summary>
    /// <param name="request">Name, environment, limits, TTL and user; null for all defaults.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The new sandbox; its <see cref="SandboxInfo.Id"/> addresses it from now on.</returns>
    public Task<SandboxInfo> CreateSandboxAsync(CreateSandboxRequest? request = null, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, "v1/sandboxes", request ?? new CreateSandboxRequest(), Json.CreateSandboxRequest), Json.SandboxInfo, cancellationToken);

    /// <summary>Reads one sandbox, with its live resource usage (<c>GET /v1/sandboxes/{idOrName}</c>).</summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="HutchApiException">Code <c>sandbox_not_found</c> when there is no such sandbox.</exception>
    public Task<SandboxInfo> GetSandboxAsync(string idOrName, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, SandboxPath(idOrName)), Json.SandboxInfo, cancellationToken);

    /// <summary>
    /// What happened to a sandbox on the daemon's own account, oldest first (<c>GET /v1/sandboxes/{id}/events</c>):
    /// adopted or lost at a daemon's start, commands of execs carried on as background processes.
    /// </summary>
    public async Task<IReadOnlyList<SandboxEvent>> GetEventsAsync(string idOrName, CancellationToken cancellationToken = default) =>
        (await SendForJsonAsync(NewRequest(HttpMethod.Get, SandboxPath(idOrName) + "/events"), Json.SandboxEventList, cancellationToken).ConfigureAwait(false)).Events;

    /// <summary>Lists every sandbox the daemon knows (<c>GET /v1/sandboxes</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<IReadOnlyList<SandboxInfo>> ListSandboxesAsync(CancellationToken cancellationToken = default)
    {
        var list = await SendForJsonAsync(NewRequest(HttpMethod.Get, "v1/sandboxes"), Json.SandboxList, cancellationToken).ConfigureAwait(false);
        return list.Sandboxes ?? [];
    }

    /// <summary>Lists the sandboxes that carry every one of <paramref name="labels"/> (<c>GET /v1/sandboxes?label=k=v</c>).</summary>
    /// <param name="labels">Labels a sandbox must have, with these values.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="HutchApiException">Code <c>invalid_label</c> for a key that no label can have.</exception>
    public async Task<IReadOnlyList<SandboxInfo>> ListSandboxesAsync(IEnumerable<KeyValuePair<string, string>> labels, CancellationToken cancellationToken = default)
    {
        var query = string.Join('&', labels.Select(l => "label=" + Uri.EscapeDataString(l.Key + "=" + l.Value)));
        var path = query.Length == 0 ? "v1/sandboxes" : "v1/sandboxes?" + query;
        var list = await SendForJsonAsync(NewRequest(HttpMethod.Get, path), Json.SandboxList, cancellationToken).ConfigureAwait(false);
        return list.Sandboxes ?? [];
    }

    /// <summary>
    /// Gives a sandbox a new TTL counted from now (<c>PATCH /v1/sandboxes/{idOrName}</c>): extends
    /// it, shortens it, or sets one on a sandbox that had none.
    /// </summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="ttl">The new TTL, whole seconds from 1 s to 30 days.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The sandbox with its new <see cref="SandboxInfo.ExpiresAt"/>.</returns>
    /// <exception cref="HutchApiException">Code <c>sandbox_expired</c> when its TTL has ended already, <c>invalid_ttl</c> out of range.</exception>
    public Task<SandboxInfo> SetTtlAsync(string idOrName, TimeSpan ttl, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Patch, SandboxPath(idOrName), new UpdateSandboxRequest((long)Math.Ceiling(ttl.TotalSeconds)), Json.UpdateSandboxRequest),
            Json.SandboxInfo, cancellationToken);

    /// <summary>
    /// Deletes a sandbox (<c>DELETE /v1/sandboxes/{idOrName}</c>): kills its processes and removes its
    /// cgroup, mounts and files. Deleting one that is already gone succeeds.
    /// </summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="keepWorkspace">Keep the /workspace directory on the host.</param>
    /// <param name="cancellationToken">Cancels the request (the daemon may still finish the delete).</param>
    public Task DeleteSandboxAsync(string idOrName, bool keepWorkspace = false, CancellationToken cancellationToken = default) =>
        DeleteAsync(idOrName, keepWorkspace, wait: true, cancellationToken);

    /// <summary>
    /// Starts deleting a sandbox and returns at once (<c>DELETE /v1/sandboxes/{idOrName}?wait=false</c>,
    /// 202): the sandbox is <c>deleting</c> from then on, taking no new work, and the daemon finishes
    /// removing it in the background (retrying what fails, after a restart too). For callers that do not
    /// need to wait for the teardown, such as a harness that runs one command per sandbox.
    /// </summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="keepWorkspace">Keep the /workspace directory on the host.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task BeginDeleteSandboxAsync(string idOrName, bool keepWorkspace = false, CancellationToken cancellationToken = default) =>
        DeleteAsync(idOrName, keepWorkspace, wait: false, cancellationToken);

    private async Task DeleteAsync(string idOrName, bool keepWorkspace, bool wait, CancellationToken cancellationToken)
    {
        var query = (keepWorkspace ? "?keepWorkspace=true" : "?keepWorkspace=false") + (wait ? "" : "&wait=false");
        using var request = NewRequest(HttpMethod.Delete, SandboxPath(idOrName, query));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }
}
