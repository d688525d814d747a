using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Mcp;

/// <summary>
/// What one MCP session works with: a client of the daemon, and the session's own sandbox, made on
/// the first call that needs one, so a model never handles an id for the common case. The sandbox
/// has a TTL (<see cref="McpSettings.IdleTtl"/>) that calls push forward, so a client that vanishes
/// leaves it only until then; when the session ends, the TTL is cut to <see cref="McpSettings.KeepAfter"/>.
/// </summary>
public sealed class McpSession(HutchClient client, McpSettings settings) : IAsyncDisposable
{
    /// <summary>Label every session sandbox carries, so `hutch ls -l hutch.mcp=session` finds them.</summary>
    public const string Label = "hutch.mcp";

    private readonly SemaphoreSlim _creating = new(1, 1);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _shellCursors = new();
    private string? _own;
    private DateTimeOffset _ttlPushed;

    public HutchClient Client => client;

    public McpSettings Settings => settings;

    /// <summary>The session's own sandbox, if it has one yet.</summary>
    public string? Own => _own;

    /// <summary>The sandbox a call acts on: the one it names, else the session's own (made now if need be).</summary>
    public async Task<string> SandboxAsync(string? named, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(named))
        {
            return named;
        }
        if (_own is { } own)
        {
            await KeepAliveAsync(own, cancellationToken).ConfigureAwait(false);
            return own;
        }
        await _creating.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_own is null)
            {
                var created = await client.CreateSandboxAsync(new CreateSandboxRequest(
                    TtlSeconds: (long)settings.IdleTtlOrDefault.TotalSeconds,
                    Labels: new Dictionary<string, string> { [Label] = "session" }), cancellationToken).ConfigureAwait(false);
                (_own, _ttlPushed) = (created.Id, DateTimeOffset.UtcNow);
            }
            return _own;
        }
        finally
        {
            _creating.Release();
        }
    }

    /// <summary>How far this session has read a shell's output (0 before the first read).</summary>
    public long ShellCursor(string sandbox, string shell) => _shellCursors.GetValueOrDefault($"{sandbox}/{shell}");

    public void ShellRead(string sandbox, string shell, long cursor) => _shellCursors[$"{sandbox}/{shell}"] = cursor;

    /// <summary>A sandbox was deleted: when it was the session's own, the next call makes a new one.</summary>
    public void Forget(string idOrName)
    {
        if (idOrName == _own)
        {
            _own = null;
        }
    }

    /// <summary>
    /// A tool's body on the sandbox it names (or the session's own), its Hutch errors turned into
    /// tool errors: what nearly every tool does first.
    /// </summary>
    public Task<ModelContextProtocol.Protocol.CallToolResult> AnswerAsync(string? sandbox,
        Func<string, Task<ModelContextProtocol.Protocol.CallToolResult>> body, CancellationToken cancellationToken = default) =>
        Answers.GuardAsync(async () => await body(await SandboxAsync(sandbox, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false));

    /// <summary>The session ended: its sandbox stays for <see cref="McpSettings.KeepAfter"/>, or goes now.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_own is not { } own)
        {
            return;
        }
        try
        {
            if (settings.KeepAfterOrDefault <= TimeSpan.Zero)
            {
                await client.DeleteSandboxAsync(own).ConfigureAwait(false);
            }
            else
            {
                await client.SetTtlAsync(own, settings.KeepAfterOrDefault).ConfigureAwait(false);
            }
        }
        catch (HutchApiException)
        {
            // Already gone (deleted by a tool, or its TTL ran out): nothing to keep.
        }
        catch (HttpRequestException)
        {
            // The daemon is gone: its TTL still bounds the sandbox when it comes back.
        }
    }

    /// <summary>Pushes the TTL forward at most once a minute: a call costs no extra request otherwise.</summary>
    private async Task KeepAliveAsync(string own, CancellationToken cancellationToken)
    {
        if (DateTimeOffset.UtcNow - _ttlPushed < TimeSpan.FromMinutes(1))
        {
            return;
        }
        _ttlPushed = DateTimeOffset.UtcNow;
        await client.SetTtlAsync(own, settings.IdleTtlOrDefault, cancellationToken).ConfigureAwait(false);
    }
}
