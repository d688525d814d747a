using System.Net.Sockets;
using System.Text;
using Hutch.Daemon.Exec;
using Hutch.Daemon.Ports;

namespace Hutch.Daemon.Services;

/// <summary>
/// One attempt of a readiness probe. File and command probes run inside the sandbox through the
/// agent (`test -e`, `sh -c`); tcp and http probes connect from the daemon through a socket it
/// opens in the sandbox's network namespace, so the sandbox needs no network of its own.
/// </summary>
internal sealed class ServiceProbe(ExecService exec, PortService ports, string sandboxId, ProbeSpec probe) : IDisposable
{
    private HttpClient? _http;

    /// <summary>Null when the probe passed, else what it saw.</summary>
    public async Task<string?> CheckAsync(TimeSpan attemptTimeout, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(attemptTimeout);
        try
        {
            return probe.Type switch
            {
                ProbeTypes.File => await ExecProbeAsync(new ExecRequest(Argv: ["test", "-e", probe.Path!]), $"{probe.Path} does not exist yet", attemptTimeout, timeout.Token).ConfigureAwait(false),
                ProbeTypes.Command => await ExecProbeAsync(new ExecRequest(Command: probe.Command), null, attemptTimeout, timeout.Token).ConfigureAwait(false),
                ProbeTypes.Tcp => await TcpAsync(timeout.Token).ConfigureAwait(false),
                ProbeTypes.Http => await HttpAsync(timeout.Token).ConfigureAwait(false),
                _ => $"unknown probe type {probe.Type}",
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"the probe did not answer within {attemptTimeout.TotalMilliseconds:0} ms";
        }
        catch (HutchException e) when (e.Code is ErrorCodes.SpawnFailed or ErrorCodes.PortUnreachable)
        {
            return e.Message;
        }
    }

    private async Task<string?> ExecProbeAsync(ExecRequest request, string? failure, TimeSpan attemptTimeout, CancellationToken cancellationToken)
    {
        using var result = await exec.CollectAsync(sandboxId, request with { TimeoutMs = Math.Max(1, (long)attemptTimeout.TotalMilliseconds), MaxOutputBytes = 4096 },
            lease: null, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode == 0)
        {
            return null;
        }
        var said = Encoding.UTF8.GetString((result.Stderr.Length > 0 ? result.Stderr : result.Stdout).ToArray()).Trim();
        return failure ?? $"the probe command exited with {result.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? result.Signal}{(said.Length > 0 ? ": " + said[..Math.Min(said.Length, 200)] : "")}";
    }

    private async Task<string?> TcpAsync(CancellationToken cancellationToken)
    {
        using var socket = await ports.ConnectAsync(sandboxId, probe.Port!.Value, cancellationToken).ConfigureAwait(false);
        return null;
    }

    private async Task<string?> HttpAsync(CancellationToken cancellationToken)
    {
        _http ??= new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectCallback = async (context, ct) =>
                new NetworkStream(await ports.ConnectAsync(sandboxId, probe.Port!.Value, ct).ConfigureAwait(false), ownsSocket: true),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        var path = probe.Path ?? "/";
        try
        {
            using var response = await _http.GetAsync(new Uri($"http://localhost:{probe.Port}{path}"), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            return status is >= 200 and < 400 ? null : $"GET {path} answered {status}";
        }
        catch (HttpRequestException e)
        {
            return $"GET {path} failed: {(e.InnerException as HutchException)?.Message ?? e.Message}";
        }
    }

    public void Dispose() => _http?.Dispose();
}

/// <summary>Makes the probes of services: they run commands and reach ports of the sandbox.</summary>
public sealed class ServiceProbes(ExecService exec, PortService ports)
{
    internal ServiceProbe For(string sandboxId, ProbeSpec probe) => new(exec, ports, sandboxId, probe);
}
