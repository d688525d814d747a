using System.ComponentModel;
using System.Globalization;
using Hutch.Protocol.Api;
using ModelContextProtocol.Server;

namespace Hutch.Mcp.Tools;

/// <summary>`service` and `port`: a server in the sandbox, started until it is ready, and requests sent to it.</summary>
internal static class ServiceTools
{
    public static McpServerTool Service(McpSession session) => ToolFactory.Create<ServiceAnswer>("service", "Start a server and wait until it is ready",
        "Start a named long-running command (a web server, a database) and wait until its readiness probe passes: " +
        "probe is tcp:PORT (accepts connections), http:PORT[/path] (answers 2xx or 3xx), file:PATH (exists) or " +
        "command:LINE (exits 0); without one, ready once it stayed up for a second. Answers its state and, when it " +
        "failed, the end of its output. Reach it with `port`; read its output with `logs` on its process.",
        ToolHints.Runs,
        async ([Description("A name for it ([a-z0-9_-], 1-48)")] string name,
            [Description("The command line, run by /bin/sh -c, e.g. `python3 -m http.server 8000`")] string command,
            [Description("When it is ready: tcp:8000, http:8000/health, file:/tmp/ready or command:LINE")] string? probe = null,
            [Description("Most seconds to wait for it to be ready; default 30, at most 600")] int waitSeconds = 30,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await Answers.GuardAsync(async () =>
        {
            if (waitSeconds is < 1 or > 600)
            {
                throw new ToolInputException(McpCodes.InvalidArgument, $"waitSeconds is 1-600, not {waitSeconds}");
            }
            var spec = probe is null ? null : Probe(probe) with { TimeoutMs = waitSeconds * 1000L };
            var id = await session.SandboxAsync(sandbox, cancellationToken).ConfigureAwait(false);
            await session.Client.CreateServiceAsync(id, new CreateServiceRequest(name, Command: command, Probe: spec), cancellationToken).ConfigureAwait(false);
            var service = await session.Client.WaitServiceAsync(id, name, TimeSpan.FromSeconds(waitSeconds + 5), cancellationToken).ConfigureAwait(false);
            string? tail = null;
            if (service.State != ServiceStates.Ready)
            {
                var logs = await session.Client.ServiceLogsAsync(id, name, 20, cancellationToken).ConfigureAwait(false);
                tail = logs.Stdout + logs.Stderr;
            }
            var answer = new ServiceAnswer(id, service.Name, service.State, service.ProcessId, service.StopReason, service.LastProbeError, tail);
            return Answers.Of(answer, $"service {name}: {service.State}" + (service.StopReason is { } why ? $" ({why})" : "")
                + (service.LastProbeError is { } probeError && service.State != ServiceStates.Ready ? $"; last probe: {probeError}" : "")
                + (tail is { Length: > 0 } ? $"\n--- its last output\n{tail}" : ""));
        }).ConfigureAwait(false));

    public static McpServerTool Port(McpSession session) => ToolFactory.Create<PortAnswer>("port", "Send an HTTP request to a port",
        "Send an HTTP request to a server listening on a port inside the sandbox (through the daemon: the sandbox needs " +
        $"no network) and return the status, content type and body (text up to {session.Settings.MaxOutputBytes / 1024} KiB).",
        ToolHints.Runs with { OpenWorld = false },
        async ([Description("The port inside the sandbox, e.g. 8000")] int port,
            [Description("Path and query, e.g. /api/items?limit=5; default /")] string path = "/",
            [Description("GET (default), POST, PUT, PATCH, DELETE or HEAD")] string method = "GET",
            [Description("A request body (for POST, PUT and PATCH)")] string? body = null,
            [Description("The body's content type; default application/json when a body is given")] string? contentType = null,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await Answers.GuardAsync(async () =>
        {
            if (port is < 1 or > 65535)
            {
                throw new ToolInputException(McpCodes.InvalidArgument, $"port is 1-65535, not {port}");
            }
            if (method.ToUpperInvariant() is not ("GET" or "POST" or "PUT" or "PATCH" or "DELETE" or "HEAD"))
            {
                throw new ToolInputException(McpCodes.InvalidArgument, $"method is GET, POST, PUT, PATCH, DELETE or HEAD, not {method}");
            }
            var id = await session.SandboxAsync(sandbox, cancellationToken).ConfigureAwait(false);
            using var request = session.Client.CreatePortRequest(new HttpMethod(method.ToUpperInvariant()), id, port, path.StartsWith('/') ? path : "/" + path);
            if (body is not null)
            {
                request.Content = new StringContent(body, System.Text.Encoding.UTF8, contentType ?? "application/json");
            }
            using var response = await session.Client.SendToPortAsync(request, cancellationToken: cancellationToken).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            var shown = bytes.AsSpan(0, Math.Min(bytes.Length, session.Settings.MaxOutputBytes));
            var text = ShownOutput.IsText(shown) ? ShownOutput.Of(shown, [], bytes.Length, "body", null) : $"[{bytes.Length:N0} bytes of binary body not shown]";
            var answer = new PortAnswer(id, port, (int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), bytes.Length, text);
            return Answers.Of(answer, $"{answer.Status} {response.ReasonPhrase} ({bytes.Length:N0} bytes{(answer.ContentType is { } type ? $", {type}" : "")})\n{text}");
        }).ConfigureAwait(false));

    /// <summary>tcp:PORT, http:PORT[/path], file:PATH or command:LINE, as `hutch service start --probe` takes them.</summary>
    internal static ProbeSpec Probe(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var (kind, rest) = colon < 0 ? (text, "") : (text[..colon], text[(colon + 1)..]);
        switch (kind)
        {
            case "tcp" when int.TryParse(rest, NumberStyles.None, CultureInfo.InvariantCulture, out var port):
                return new ProbeSpec("tcp", Port: port);
            case "http":
                var slash = rest.IndexOf('/', StringComparison.Ordinal);
                if (int.TryParse(slash < 0 ? rest : rest[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var httpPort))
                {
                    return new ProbeSpec("http", Path: slash < 0 ? "/" : rest[slash..], Port: httpPort);
                }
                break;
            case "file" when rest.Length > 0:
                return new ProbeSpec("file", Path: rest);
            case "command" when rest.Length > 0:
                return new ProbeSpec("command", Command: rest);
        }
        throw new ToolInputException(McpCodes.InvalidArgument, $"probe '{text}' is not tcp:PORT, http:PORT[/path], file:PATH or command:LINE");
    }
}

/// <summary>A service after its start.</summary>
/// <param name="Service">Its name.</param>
/// <param name="State">ready, or starting, failed, exited or stopped.</param>
/// <param name="Process">Its current run's background process (for `logs`).</param>
/// <param name="StopReason">Why it is not running, when it is not.</param>
/// <param name="LastProbeError">What the last failed probe saw.</param>
/// <param name="Output">When it is not ready: the end of its output.</param>
public sealed record ServiceAnswer(string Sandbox, string Service, string State, string? Process, string? StopReason, string? LastProbeError, string? Output);

/// <summary>An answer of a server in the sandbox.</summary>
/// <param name="Status">The HTTP status.</param>
/// <param name="Bytes">The body's length.</param>
/// <param name="Body">The body as text (cut to the budget), or a note when it is binary.</param>
public sealed record PortAnswer(string Sandbox, int Port, int Status, string? ContentType, long Bytes, string Body);
