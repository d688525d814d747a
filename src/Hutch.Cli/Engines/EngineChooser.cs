using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Engines;

/// <summary>
/// Where `hutch run` puts its sandbox: in a running daemon when one answers quickly, else in this
/// process. Nothing is probed when nothing says a daemon runs (no HUTCH_URL, no live daemon.json), so
/// the common case starts without touching the network stack at all. A URL the caller named
/// (<c>--url</c>, HUTCH_URL) must answer: it is an error, never a silent switch to another engine.
/// </summary>
internal static class EngineChooser
{
    /// <summary>How long a daemon gets to answer /v1/health before `run` works in-process instead.</summary>
    public static readonly TimeSpan HealthBudget = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a daemon the caller named gets: there is nothing to fall back to, so a busy one is waited for.</summary>
    public static readonly TimeSpan ExplicitHealthBudget = TimeSpan.FromSeconds(5);

    /// <param name="host">Where the in-process engine comes from (hutch-engine; the NativeAOT `hutch` hands over to it).</param>
    /// <param name="url">The caller's <c>--url</c>, if any.</param>
    /// <param name="apiKey">The caller's <c>--api-key</c>, if any.</param>
    public static async Task<IRunEngine> OpenAsync(IEngineHost host, bool needInProcess, string? url, string? apiKey, CancellationToken cancellationToken)
    {
        if (needInProcess && url is not null)
        {
            throw new CliException(ErrorCodes.InvalidRequest, "--workspace runs the sandbox in this process, not on a daemon: give --workspace or --url, not both", ExitCodes.Usage);
        }
        if (!needInProcess)
        {
            var endpoint = HutchEndpoint.Discover(url, apiKey, dataDir: null);
            if (endpoint.Advertised && await TryDaemonAsync(endpoint, endpoint.IsExplicit ? ExplicitHealthBudget : HealthBudget, cancellationToken).ConfigureAwait(false) is { } daemon)
            {
                return daemon;
            }
            if (endpoint.IsExplicit)
            {
                throw new CliException(ClientErrorCodes.DaemonUnreachable,
                    $"no Hutch daemon answers at {endpoint.BaseAddress} (from {endpoint.Source}) within {ExplicitHealthBudget.TotalSeconds:0} s: start it, fix {endpoint.Source}, or leave it out to run in this process");
            }
        }
        return await host.OpenInProcessAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A client of the daemon when one is said to run and answers (`hutch mcp` talks to it), else
    /// null: the caller runs one itself. Errors as <see cref="OpenAsync"/>'s.
    /// </summary>
    public static async Task<HutchClient?> DaemonClientAsync(CancellationToken cancellationToken)
    {
        var endpoint = HutchEndpoint.Discover(null, null, dataDir: null);
        if (!endpoint.Advertised)
        {
            return null;
        }
        var client = await TryClientAsync(endpoint, endpoint.IsExplicit ? ExplicitHealthBudget : HealthBudget, cancellationToken).ConfigureAwait(false);
        if (client is null && endpoint.IsExplicit)
        {
            throw new CliException(ClientErrorCodes.DaemonUnreachable,
                $"no Hutch daemon answers at {endpoint.BaseAddress} (from {endpoint.Source}) within {ExplicitHealthBudget.TotalSeconds:0} s: start it, or fix {endpoint.Source}");
        }
        return client;
    }

    private static async Task<IRunEngine?> TryDaemonAsync(HutchEndpoint endpoint, TimeSpan healthBudget, CancellationToken cancellationToken) =>
        await TryClientAsync(endpoint, healthBudget, cancellationToken).ConfigureAwait(false) is { } client ? new DaemonEngine(client) : null;

    private static async Task<HutchClient?> TryClientAsync(HutchEndpoint endpoint, TimeSpan healthBudget, CancellationToken cancellationToken)
    {
        if (endpoint.ApiKey is null)
        {
            // A daemon is said to run but its key is out of reach: do not start a second engine on its data dir behind its back.
            throw new CliException(ClientErrorCodes.NoApiKey,
                $"a Hutch daemon is registered at {endpoint.BaseAddress} but no API key was found: set HUTCH_API_KEY, or run as a user that can read {Path.Join(endpoint.DataDir, "api-key")}");
        }

        var client = HutchClient.FromEndpoint(endpoint);
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(healthBudget);
        try
        {
            await client.HealthAsync(budget.Token).ConfigureAwait(false);
            return client;
        }
        catch (Exception e) when (e is HutchApiException { Status: 0 } || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            client.Dispose(); // Nobody answered (in time): work in-process.
            return null;
        }
        catch
        {
            client.Dispose(); // It answered, with an error (wrong key, say): report that rather than bypass it.
            throw;
        }
    }
}
