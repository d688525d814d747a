using Hutch.Daemon.Mcp;
using Hutch.Daemon.Secrets;
using Hutch.Daemon.Templates;
using System.Text.Json;
using Hutch.Daemon.Exec;
using Hutch.Daemon.Files;
using Hutch.Daemon.Ports;
using Hutch.Daemon.Processes;
using Hutch.Daemon.Services;
using Hutch.Daemon.Sessions;
using Hutch.Daemon.Shells;
using Hutch.Daemon.Http;
using Hutch.Daemon.Http.Limits;
using Hutch.Daemon.Http.OpenApi;
using Hutch.Daemon.Network;
using Hutch.Files;
using Hutch.Protocol.Api;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon;

/// <summary>A started daemon: where it listens, and how to stop it.</summary>
public sealed class RunningDaemon(WebApplication app, SandboxEngine engine, string url) : IAsyncDisposable
{
    public string Url { get; } = url;
    public SandboxEngine Engine { get; } = engine;

    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops serving. Sandboxes keep running; the next daemon adopts them.</summary>
    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
        await Engine.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>Hosts the HTTP API over a daemon-mode <see cref="SandboxEngine"/>.</summary>
public static class DaemonHost
{
    /// <summary>`hutch serve`: runs until SIGINT/SIGTERM. Returns the process exit code.</summary>
    public static async Task<int> RunAsync(HutchOptions options, CancellationToken cancellationToken)
    {
        await using var daemon = await StartAsync(options, Console.Out, cancellationToken).ConfigureAwait(false);
        await daemon.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        return 0;
    }

    /// <summary>Starts the engine (adopting running sandboxes) and the HTTP server, and returns once it listens.</summary>
    public static async Task<RunningDaemon> StartAsync(HutchOptions options, TextWriter? output = null, CancellationToken cancellationToken = default)
    {
        ThrowIfAddressInUse(options.Url); // before the engine makes volumes and warm sandboxes for a daemon that cannot listen
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Url);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // YARP logs every failed forward (a port nothing listens on is routine) as a warning with a stack
        // trace; the ports proxy logs one line of its own with the sandbox id instead.
        builder.Logging.AddFilter("Yarp", LogLevel.Error);
        // A failed start (a busy port) is reported once, as the error `hutch serve` prints, not also as a logged stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.Critical);
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            // As ApiJsonContext reads bodies: numbers are numbers (the OpenAPI schemas follow these options).
            json.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        builder.Services.AddApiDocument();
        builder.Services.AddEdgeProblems();
        builder.Services.AddHttpForwarder();
        // The limits themselves are given to UseRateLimiter below, once the engine (which resolves sandbox names) exists.
        builder.Services.AddRateLimiter(_ => { });
        WebApplication? built = null;
        McpEndpoints.AddMcp(builder.Services, () => built!.Urls.First(), typeof(DaemonHost).Assembly.GetName().Version?.ToString(3) ?? "0.1.0");
        // 64 KiB receive blocks instead of Kestrel's 4 KiB: a 1 GiB upload took 262,144 recv calls (33,000 now).
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();
        // A stop (SIGTERM) gives requests in flight 5 s, not the host's 30: an exec or shell may run for
        // hours, and its command carries on as a background process once its connection is cut.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
        var app = builder.Build();
        built = app;

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Hutch.Engine");
        var engine = await SandboxEngine.OpenDaemonAsync(options, logger, cancellationToken: cancellationToken).ConfigureAwait(false);
        var key = ApiKey.LoadOrCreate(options.ApiKeyFile, out var created);

        app.Use(async (context, next) =>
        {
            // A signed artifact link is its own credential (one file, until it expires): opened in a browser, it has no key to send.
            var link = HttpMethods.IsGet(context.Request.Method) && context.Request.Path.StartsWithSegments(Artifacts.ArtifactEndpoints.LinkPrefix.TrimEnd('/'));
            if (!link && !key.Matches(context.Request.Headers.Authorization))
            {
                await Problems.WriteAsync(context, ErrorCodes.Unauthorized,
                    $"Send the daemon's API key as 'Authorization: Bearer <key>'. It is in {options.ApiKeyFile} on the daemon's host.");
                return;
            }
            if (!link)
            {
                Caller.Set(context, key.Id);
            }
            var redaction = ResponseRedaction.Begin(context, engine.Directory);
            try
            {
                await next(context);
            }
            catch (CodedException e) when (!context.Response.HasStarted)
            {
                await Problems.WriteAsync(context, e);
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                if (EdgeProblems.DescribeBadQuery(context) is { } query)
                {
                    await Problems.WriteAsync(context, ErrorCodes.InvalidQuery, query);
                }
                else if (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    var cap = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } bytes
                        ? $" than the {bytes.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} bytes it takes"
                        : "";
                    await Problems.WriteAsync(context, ErrorCodes.RequestTooLarge,
                        $"The request body of {context.Request.Method} {context.Request.Path} is larger{cap}. " +
                        "Send large content as a file (PUT …/files, or files/import) and refer to it, or in smaller requests.");
                }
                else
                {
                    await Problems.WriteAsync(context, e.StatusCode, ErrorCodes.InvalidRequest, $"{EdgeProblems.Scrub(e.Message)} Check the request against /openapi/v1.json.");
                }
            }
            catch (Exception e) when (!context.Response.HasStarted && e is not OperationCanceledException)
            {
                logger.LogError(e, "unhandled error on {Path}", context.Request.Path);
                await Problems.WriteAsync(context, ErrorCodes.Internal, "Hutch failed unexpectedly; the daemon's log has the details.");
            }
            finally
            {
                if (redaction is not null)
                {
                    await redaction.EndAsync();
                }
            }
        });
        // After the key check (an unknown route without the key is a 401, not a map of the API), and
        // around everything else: the framework's bodiless 404/405/415 become problems with a code.
        app.UseEdgeProblems();
        // After the key check: a request without the key is refused before it spends anyone's budget,
        // and each limit partitions on the key it was sent with.
        var limits = new RequestLimits(options, engine.Directory.LiveIdOf);
        app.UseRateLimiter(limits.Middleware);
        // After the key check: an upgrade is a request like any other until the key has been seen.
        app.UseWebSockets();
        app.MapOpenApi();
        SandboxEndpoints.Map(app, engine.Sandboxes, engine.Events, () => engine.WarmPoolReady, engine.Runtime.Binary);
        ExecEndpoints.Map(app, engine.Exec, limits);
        FileEndpoints.Map(app, engine.Files, options);
        CheckpointEndpoints.Map(app, engine.Files);
        ProcessEndpoints.Map(app, engine.Processes, engine.Logs);
        SessionEndpoints.Map(app, engine.Sessions, limits);
        PortEndpoints.Map(app, engine.Ports, logger);
        TcpEndpoints.Map(app, engine.Ports, logger);
        ServiceEndpoints.Map(app, engine.Services);
        ShellEndpoints.Map(app, engine.Shells, engine.Logs, options);
        SecretEndpoints.Map(app, engine.Secrets, engine.SandboxSecrets);
        TemplateEndpoints.Map(app, engine.Templates, engine.TemplateImports, engine.TemplatePruning, engine.Directory.Registry);
        Builds.BuildEndpoints.Map(app, engine.TemplateBuilder);
        Bundles.BundleEndpoints.Map(app, engine.Bundles);
        NetworkEndpoints.Map(app, engine.Network);
        McpEndpoints.Map(app);
        Artifacts.ArtifactEndpoints.Map(app, engine.Artifacts);

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            // Taken between the check and the bind.
            await app.DisposeAsync().ConfigureAwait(false);
            await engine.DisposeAsync().ConfigureAwait(false); // its sandboxes run on, for the next daemon on this data dir
            throw AddressInUse(options.Url);
        }
        var url = app.Urls.First();
        engine.Network.DaemonPort = new Uri(url).Port;
        engine.Artifacts.BaseUrl = url;
        await PrivateFiles.WriteAllTextAsync(options.DaemonInfoFile,
            JsonSerializer.Serialize(new DaemonInfo(url, Environment.ProcessId), DaemonInfoJsonContext.Default.DaemonInfo), cancellationToken).ConfigureAwait(false);
        if (output is not null)
        {
            await output.WriteLineAsync($"hutch daemon listening on {url} (data dir {options.DataDir}, runtime {options.Runtime})").ConfigureAwait(false);
            await output.WriteLineAsync($"workspaces: {engine.Volume.Description}").ConfigureAwait(false);
            await output.WriteLineAsync(created
                ? $"generated an API key in {options.ApiKeyFile} (mode 0600): send it as 'Authorization: Bearer <key>'"
                : $"API key: {options.ApiKeyFile}").ConfigureAwait(false);
        }
        return new RunningDaemon(app, engine, url);
    }

    /// <summary>Binds the listen address once and lets go: a busy one is one line for `hutch serve`, not Kestrel's stack trace.</summary>
    private static void ThrowIfAddressInUse(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Port == 0)
        {
            return; // Kestrel says what is wrong with it, or picks a free port
        }
        var address = uri.IsLoopback && !System.Net.IPAddress.TryParse(uri.Host, out _) ? System.Net.IPAddress.Loopback
            : System.Net.IPAddress.TryParse(uri.Host, out var ip) ? ip : null;
        if (address is null)
        {
            return;
        }
        using var socket = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        try
        {
            socket.Bind(new System.Net.IPEndPoint(address, uri.Port));
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
        {
            throw AddressInUse(url);
        }
    }

    private static HutchException AddressInUse(string url) => new(ErrorCodes.AddressInUse,
        $"{url} is already in use (another hutch serve, or another program): stop that one, or listen elsewhere with --url http://127.0.0.1:PORT (or HUTCH_URL).");
}

/// <summary>What `daemon.json` in the data dir says, for clients that look for a running daemon.</summary>
public sealed record DaemonInfo(string Url, int Pid);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(DaemonInfo))]
internal sealed partial class DaemonInfoJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
