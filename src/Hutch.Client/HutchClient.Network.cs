using System.Globalization;
using System.Runtime.CompilerServices;
using Hutch.Protocol.Api;

namespace Hutch.Client;

public sealed partial class HutchClient
{
    /// <summary>
    /// Replaces a sandbox's network policy (<c>PATCH /v1/sandboxes/{idOrName}</c> with <c>network</c>):
    /// new connections see it at once, and open connections it no longer allows are closed.
    /// </summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="policy">The whole new policy; mode <c>none</c> lets nothing out.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The sandbox with its policy as the daemon enforces it.</returns>
    /// <exception cref="HutchApiException">Code <c>invalid_network_policy</c> naming the field, <c>egress_unavailable</c> when the host cannot capture its connections.</exception>
    public Task<SandboxInfo> SetNetworkAsync(string idOrName, NetworkPolicy policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return SendForJsonAsync(NewRequest(HttpMethod.Patch, SandboxPath(idOrName), new UpdateSandboxRequest(Network: policy), Json.UpdateSandboxRequest),
            Json.SandboxInfo, cancellationToken);
    }

    /// <summary>What each network preset stands for on the daemon's host (<c>GET /v1/network/presets</c>).</summary>
    /// <param name="cancellationToken">Cancels the request.</param>
    public Task<NetworkPresetInfo[]> ListNetworkPresetsAsync(CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, "v1/network/presets"), Json.NetworkPresetInfoArray, cancellationToken);

    /// <summary>
    /// A sandbox's network events (<c>GET /v1/sandboxes/{idOrName}/network/events</c>): each connection
    /// it tried, refused when it was refused (with the code, the rule and what to do), allowed when it
    /// closed (with its bytes). Resume from the last event's <see cref="NetworkEvent.Cursor"/>.
    /// </summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="cursor">Where to start: 0, or the cursor of the last event read.</param>
    /// <param name="follow">Wait for events to come instead of ending at the last one.</param>
    /// <param name="cancellationToken">Ends a follow.</param>
    public async IAsyncEnumerable<NetworkEvent> ReadNetworkEventsAsync(string idOrName, long cursor = 0, bool follow = false,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var message = NewRequest(HttpMethod.Get, SandboxPath(idOrName,
            $"/network/events?cursor={cursor.ToString(CultureInfo.InvariantCulture)}&follow={(follow ? "true" : "false")}"));
        message.Headers.Accept.Add(NdjsonMediaType);
        var body = await SendForStreamAsync(message, cancellationToken).ConfigureAwait(false);
        await using var reader = new NdjsonReader<NetworkEvent>(body, Json.NetworkEvent);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) is { } next)
        {
            yield return next;
        }
    }
}
