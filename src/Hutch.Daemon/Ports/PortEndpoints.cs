using Hutch.Daemon.Http;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Hutch.Daemon.Ports;

/// <summary>
/// /v1/sandboxes/{id}/ports/{port}/…: HTTP and WebSocket requests forwarded to 127.0.0.1:{port}
/// inside the sandbox, over sockets the engine creates in the sandbox's network namespace
/// (<see cref="PortService.ConnectAsync"/>). The sandbox gets no route out; the daemon's API
/// key is checked like on every route and never forwarded.
/// </summary>
internal static class PortEndpoints
{
    private static readonly ForwarderRequestConfig RequestConfig = new()
    {
        // Cleartext to the sandbox: HTTP/1.1, which also carries WebSocket upgrades.
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        ActivityTimeout = TimeSpan.FromMinutes(5),
    };

    public static void Map(WebApplication app, PortService ports, ILogger logger)
    {
        var forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ActivityHeadersPropagator = null,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            // The destination's host is the sandbox id (see Destination), so the handler's connection
            // pool is per sandbox and port: a connection into one sandbox never serves another.
            ConnectCallback = async (context, ct) =>
                new NetworkStream(await ports.ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, ct).ConfigureAwait(false), ownsSocket: true),
        }, disposeHandler: true);
        app.Lifetime.ApplicationStopped.Register(invoker.Dispose);

        app.Map("/v1/sandboxes/{id}/ports/{port}/{**rest}", async (string id, string port, HttpContext context) =>
            {
                AllowAnyBodySize(context);
                // The sandbox's server answers for itself: its bodiless 404 stays its own, not a Hutch problem.
                if (context.Features.Get<IStatusCodePagesFeature>() is { } pages)
                {
                    pages.Enabled = false;
                }
                var number = PortService.Validate(port);
                var sandboxId = await ports.ResolveRunningAsync(id, context.RequestAborted);
                var transformer = new SandboxTransformer(number, RemainingPath(context, id, port));
                var error = await forwarder.SendAsync(context, Destination(sandboxId, number), invoker, RequestConfig, transformer);
                if (error != ForwarderError.None && !context.Response.HasStarted)
                {
                    await WriteErrorAsync(context, error, sandboxId, number, logger);
                }
            })
            .WithSummary("Forward an HTTP or WebSocket request to 127.0.0.1:{port} inside the sandbox")
            .ExcludeFromDescription();
    }

    /// <summary>
    /// Lifts Kestrel's 30 MB request body limit for this request: the body is streamed through to the
    /// server in the sandbox, never buffered by the daemon, so its size is that server's business
    /// (uploads to a dev server, large POSTs). Must run before anything reads the body.
    /// </summary>
    private static void AllowAnyBodySize(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }
    }

    /// <summary>The forwarder's destination: the sandbox id as the host name keys the connection pool; nothing resolves it.</summary>
    private static string Destination(string sandboxId, int port) => $"http://{sandboxId}:{port}";

    /// <summary>What follows /ports/{port} in the request's path ("/" when nothing does).</summary>
    private static PathString RemainingPath(HttpContext context, string id, string port) =>
        context.Request.Path.StartsWithSegments($"/v1/sandboxes/{id}/ports/{port}", out var remaining) && remaining.HasValue
            ? remaining
            : "/";

    private static Task WriteErrorAsync(HttpContext context, ForwarderError error, string sandboxId, int port, ILogger logger)
    {
        var exception = context.GetForwarderErrorFeature()?.Exception;
        Log.PortForwardFailed(logger, sandboxId, port, error.ToString(), exception?.GetBaseException().Message ?? "no detail");
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HutchException hutch)
            {
                return Problems.WriteAsync(context, hutch);
            }
        }
        return error == ForwarderError.RequestTimedOut
            ? Problems.WriteAsync(context, ErrorCodes.PortTimeout, $"The server on port {port} in sandbox {sandboxId} did not answer in time.")
            : Problems.WriteAsync(context, ErrorCodes.PortUnreachable,
                $"Forwarding to port {port} in sandbox {sandboxId} failed ({error}: {exception?.Message}).");
    }

    /// <summary>Copies the request as it came, except that the API key stays out and the server sees itself addressed as localhost.</summary>
    private sealed class SandboxTransformer(int port, PathString path) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
            // The daemon's key is a credential for the whole host: the sandbox must never see it.
            proxyRequest.Headers.Authorization = null;
            proxyRequest.Headers.Remove("Authorization");
            // Dev servers check Host (Vite's allowedHosts, Django's ALLOWED_HOSTS): localhost passes them all.
            proxyRequest.Headers.Host = $"localhost:{port}";
            proxyRequest.RequestUri = RequestUtilities.MakeDestinationAddress(destinationPrefix, path, httpContext.Request.QueryString);
        }
    }
}
