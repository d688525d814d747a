using Hutch.Client;
using Hutch.Daemon;

namespace Hutch.Cli.Engines;

/// <summary>
/// Where `hutch run` puts its sandbox: in a running daemon when one answers quickly, else in this
/// process. Nothing is probed when nothing says a daemon runs (no HUTCH_URL, no live daemon.json), so
/// the common case starts without touching the network stack at all.
/// </summary>
internal static class EngineChooser
{
    /// <summary>How long a daemon gets to answer /v1/health before `run` works in-process instead.</summary>
    public static readonly TimeSpan HealthBudget = TimeSpan.FromMilliseconds(200);

    public static async Task<ISandboxEngine> OpenAsync(bool needInProcess, CancellationToken cancellationToken)
    {
        var options = new HutchOptions();
        if (!needInProcess)
        {
            var endpoint = HutchEndpoint.Discover(options.DataDir);
            if (endpoint.Advertised && await TryDaemonAsync(endpoint, cancellationToken).ConfigureAwait(false) is { } daemon)
            {
                return daemon;
            }
        }
        return await DaemonWiring.OpenInProcessEngineAsync(options, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<ISandboxEngine?> TryDaemonAsync(HutchEndpoint endpoint, CancellationToken cancellationToken)
    {
        if (endpoint.ApiKey is null)
        {
            // A daemon is said to run but its key is out of reach: do not start a second engine on its data dir behind its back.
            throw new CliException(ClientErrorCodes.NoApiKey,
                $"a Hutch daemon is registered at {endpoint.BaseAddress} but no API key was found: set HUTCH_API_KEY, or run as a user that can read {Path.Join(endpoint.DataDir, "api-key")}");
        }

        var client = HutchClient.FromEndpoint(endpoint);
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(HealthBudget);
        try
        {
            await client.HealthAsync(budget.Token).ConfigureAwait(false);
            return new DaemonEngine(client);
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
