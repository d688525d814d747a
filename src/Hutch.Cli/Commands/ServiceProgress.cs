using System.Globalization;
using Hutch.Cli.Output;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>
/// `hutch service start --wait`: waits until the service is ready or has failed, and says on stderr
/// what the probes see meanwhile, so a slow or hopeless start is visible before its deadline.
/// </summary>
internal static class ServiceProgress
{
    /// <summary>How long one wait asks the daemon for: also the most the progress lines lag.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    /// <summary>A line this often while nothing else changes, so a long start never looks hung.</summary>
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(5);

    public static async Task<ServiceInfo> WaitAsync(HutchClient client, string sandbox, ServiceInfo info, TextWriter progress, CancellationToken cancellationToken)
    {
        var shown = info;
        var lastLine = DateTimeOffset.UtcNow;
        while (info.State == ServiceStates.Starting)
        {
            info = await client.WaitServiceAsync(sandbox, info.Name, Poll, cancellationToken).ConfigureAwait(false);
            var changed = info.LastProbeError != shown.LastProbeError || info.Restarts != shown.Restarts;
            if (info.State == ServiceStates.Starting && (changed || DateTimeOffset.UtcNow - lastLine >= Heartbeat))
            {
                await progress.WriteLineAsync(Describe(info)).ConfigureAwait(false);
                (shown, lastLine) = (info, DateTimeOffset.UtcNow);
            }
        }
        return info;
    }

    /// <summary>"web: starting for 3.2 s, probe attempt 12 (restart 1), last probe: GET /health answered 503".</summary>
    public static string Describe(ServiceInfo info)
    {
        var line = $"{info.Name}: starting";
        if (info.StartedAt is { } started)
        {
            line += string.Create(CultureInfo.InvariantCulture, $" for {Math.Max(0, (DateTimeOffset.UtcNow - started).TotalSeconds):0.0} s");
        }
        if (info.Probe is not null)
        {
            line += string.Create(CultureInfo.InvariantCulture, $", {info.ProbeAttempts} probe attempt{(info.ProbeAttempts == 1 ? "" : "s")}");
        }
        if (info.Restarts > 0)
        {
            line += string.Create(CultureInfo.InvariantCulture, $" (restart {info.Restarts})");
        }
        // What a probe saw may be the sandbox's own output: shown without its control characters.
        return info.LastProbeError is { } error ? $"{line}, last probe: {SafeText.Show(error)}" : line;
    }
}
