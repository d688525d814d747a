using System.Globalization;
using Hutch.Protocol.Api;

namespace Hutch.Client;

// Services: /v1/sandboxes/{idOrName}/services (docs/services.md).
public sealed partial class HutchClient
{
    /// <summary>Starts a service: a named command with a readiness probe and a restart policy. Wait for it with <see cref="WaitServiceAsync"/>.</summary>
    public Task<ServiceInfo> CreateServiceAsync(string idOrName, CreateServiceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendForJsonAsync(NewRequest(HttpMethod.Post, SandboxPath(idOrName, "/services"), request, Json.CreateServiceRequest), Json.ServiceInfo, cancellationToken);
    }

    /// <summary>The sandbox's services.</summary>
    public async Task<IReadOnlyList<ServiceInfo>> ListServicesAsync(string idOrName, CancellationToken cancellationToken = default) =>
        (await SendForJsonAsync(NewRequest(HttpMethod.Get, SandboxPath(idOrName, "/services")), Json.ServiceList, cancellationToken).ConfigureAwait(false)).Services;

    /// <summary>One service: state, stop reason, restarts, current process.</summary>
    public Task<ServiceInfo> GetServiceAsync(string idOrName, string name, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, ServicePath(idOrName, name)), Json.ServiceInfo, cancellationToken);

    /// <summary>Waits until the service is ready or has failed (or the timeout; the daemon's default is 30 s).</summary>
    public Task<ServiceInfo> WaitServiceAsync(string idOrName, string name, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var query = timeout is { } t ? "/wait?timeoutMs=" + ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) : "/wait";
        return SendForJsonAsync(NewRequest(HttpMethod.Post, ServicePath(idOrName, name, query)), Json.ServiceInfo, cancellationToken);
    }

    /// <summary>The last <paramref name="tail"/> lines of the current run's output.</summary>
    public Task<ServiceLogs> ServiceLogsAsync(string idOrName, string name, int tail = 100, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, ServicePath(idOrName, name, "/logs?tail=" + tail.ToString(CultureInfo.InvariantCulture))), Json.ServiceLogs, cancellationToken);

    /// <summary>SIGTERM, then SIGKILL after the grace; returns the stopped service with its stop reason.</summary>
    public Task<ServiceInfo> StopServiceAsync(string idOrName, string name, StopServiceRequest? request = null, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, ServicePath(idOrName, name, "/stop"), request ?? new StopServiceRequest(), Json.StopServiceRequest), Json.ServiceInfo, cancellationToken);

    /// <summary>Stops the service if it runs and removes it with its logs.</summary>
    public async Task DeleteServiceAsync(string idOrName, string name, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Delete, ServicePath(idOrName, name));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    private static string ServicePath(string idOrName, string name, string? suffix = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return SandboxPath(idOrName, "/services/" + Uri.EscapeDataString(name) + suffix);
    }
}
