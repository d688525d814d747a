using Hutch.Protocol.Api;

namespace Hutch.Client;

// Sessions: /v1/sandboxes/{idOrName}/sessions (docs/sessions.md).
public sealed partial class HutchClient
{
    /// <summary>Starts a session: a persistent shell, like a terminal tab, where cd and export carry over between commands.</summary>
    public Task<SessionInfo> CreateSessionAsync(string idOrName, CreateSessionRequest? request = null, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, SandboxPath(idOrName, "/sessions"), request ?? new CreateSessionRequest(), Json.CreateSessionRequest), Json.SessionInfo, cancellationToken);

    /// <summary>The sandbox's sessions, running and ended.</summary>
    public async Task<IReadOnlyList<SessionInfo>> ListSessionsAsync(string idOrName, CancellationToken cancellationToken = default) =>
        (await SendForJsonAsync(NewRequest(HttpMethod.Get, SandboxPath(idOrName, "/sessions")), Json.SessionList, cancellationToken).ConfigureAwait(false)).Sessions;

    /// <summary>One session by name.</summary>
    public Task<SessionInfo> GetSessionAsync(string idOrName, string session, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, SessionPath(idOrName, session)), Json.SessionInfo, cancellationToken);

    /// <summary>Runs a command line in the session's shell after the ones before it; a non-zero exit is a result, not an exception.</summary>
    public Task<ExecResult> SessionExecAsync(string idOrName, string session, SessionExecRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendForJsonAsync(NewRequest(HttpMethod.Post, SessionPath(idOrName, session, "/exec"), request, Json.SessionExecRequest), Json.ExecResult, cancellationToken);
    }

    /// <summary>Runs a command line in a session: <c>SessionExecAsync(id, "dev", "cd src &amp;&amp; export X=1")</c>.</summary>
    public Task<ExecResult> SessionExecAsync(string idOrName, string session, string command, CancellationToken cancellationToken = default) =>
        SessionExecAsync(idOrName, session, new SessionExecRequest(command), cancellationToken);

    /// <summary>Ends a session: its shell and what it started are killed.</summary>
    public async Task DeleteSessionAsync(string idOrName, string session, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Delete, SessionPath(idOrName, session));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    private static string SessionPath(string idOrName, string session, string? suffix = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(session);
        return SandboxPath(idOrName, "/sessions/" + Uri.EscapeDataString(session) + suffix);
    }
}
