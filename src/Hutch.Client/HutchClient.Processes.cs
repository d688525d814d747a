using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Hutch.Protocol.Api;

namespace Hutch.Client;

// Background processes: /v1/sandboxes/{idOrName}/processes (docs/processes.md).
public sealed partial class HutchClient
{
    /// <summary>
    /// Starts a background process (<c>POST …/processes</c>). It outlives this client and a daemon
    /// restart; its output goes to a durable log read with <see cref="ReadProcessLogsAsync"/> or
    /// <see cref="StreamProcessLogsAsync"/>.
    /// </summary>
    public Task<ProcessInfo> StartProcessAsync(string idOrName, StartProcessRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendForJsonAsync(NewRequest(HttpMethod.Post, SandboxPath(idOrName, "/processes"), request, Json.StartProcessRequest), Json.ProcessInfo, cancellationToken);
    }

    /// <summary>Starts a shell command line in the background: <c>StartProcessAsync(id, "npm run dev", name: "web")</c>.</summary>
    public Task<ProcessInfo> StartProcessAsync(string idOrName, string command, string? name = null, CancellationToken cancellationToken = default) =>
        StartProcessAsync(idOrName, new StartProcessRequest(Command: command, Name: name), cancellationToken);

    /// <summary>Every background process of the sandbox, running and ended, oldest first.</summary>
    public async Task<IReadOnlyList<ProcessInfo>> ListProcessesAsync(string idOrName, CancellationToken cancellationToken = default) =>
        (await SendForJsonAsync(NewRequest(HttpMethod.Get, SandboxPath(idOrName, "/processes")), Json.ProcessList, cancellationToken).ConfigureAwait(false)).Processes;

    /// <summary>A process (by id, or the newest with that name) with its state and exit status.</summary>
    public Task<ProcessInfo> GetProcessAsync(string idOrName, string process, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, ProcessPath(idOrName, process)), Json.ProcessInfo, cancellationToken);

    /// <summary>Waits until the process ends or <paramref name="timeout"/> passes (the daemon's default is 30 s), and returns it as it then is.</summary>
    public Task<ProcessInfo> WaitProcessAsync(string idOrName, string process, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var query = timeout is { } t ? "/wait?timeoutMs=" + ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) : "/wait";
        return SendForJsonAsync(NewRequest(HttpMethod.Post, ProcessPath(idOrName, process, query)), Json.ProcessInfo, cancellationToken);
    }

    /// <summary>Writes bytes to the stdin of a process started with <c>Stdin: true</c>; <paramref name="close"/> ends its input after them.</summary>
    public async Task WriteProcessStdinAsync(string idOrName, string process, ReadOnlyMemory<byte> data, bool close = false, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Post, ProcessPath(idOrName, process, close ? "/stdin?eof=true" : "/stdin"));
        request.Content = new ReadOnlyMemoryContent(data);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes text (UTF-8) to a process's stdin.</summary>
    public Task WriteProcessStdinAsync(string idOrName, string process, string text, bool close = false, CancellationToken cancellationToken = default) =>
        WriteProcessStdinAsync(idOrName, process, System.Text.Encoding.UTF8.GetBytes(text), close, cancellationToken);

    /// <summary>Sends a signal ("SIGINT", "TERM", …) to the process's whole tree.</summary>
    public Task<ProcessInfo> SignalProcessAsync(string idOrName, string process, string signal, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, ProcessPath(idOrName, process, "/signal"), new SignalRequest(signal), Json.SignalRequest), Json.ProcessInfo, cancellationToken);

    /// <summary>SIGTERM (or <see cref="KillRequest.Signal"/>) to the tree, SIGKILL after the grace; returns the ended process.</summary>
    public Task<ProcessInfo> KillProcessAsync(string idOrName, string process, KillRequest? request = null, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, ProcessPath(idOrName, process, "/kill"), request ?? new KillRequest(), Json.KillRequest), Json.ProcessInfo, cancellationToken);

    /// <summary>Removes an ended process and its log.</summary>
    public async Task DeleteProcessAsync(string idOrName, string process, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Delete, ProcessPath(idOrName, process));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Output from <paramref name="cursor"/> up to what is there now (at most <paramref name="maxBytes"/>); pass the returned Cursor next time.</summary>
    public Task<ProcessLogs> ReadProcessLogsAsync(string idOrName, string process, long cursor = 0, long? maxBytes = null, string? encoding = null, CancellationToken cancellationToken = default)
    {
        var query = $"/logs?cursor={cursor.ToString(CultureInfo.InvariantCulture)}"
            + (maxBytes is { } m ? "&maxBytes=" + m.ToString(CultureInfo.InvariantCulture) : "")
            + (encoding is null ? "" : "&encoding=" + Uri.EscapeDataString(encoding));
        return SendForJsonAsync(NewRequest(HttpMethod.Get, ProcessPath(idOrName, process, query)), Json.ProcessLogs, cancellationToken);
    }

    /// <summary>
    /// Output events from <paramref name="cursor"/> as they are written (<c>GET …/logs/stream</c>):
    /// stdout/stderr (base64 Data), truncated (output the size cap dropped), and a final exit. Each
    /// carries the cursor to resume from after a disconnect. With <paramref name="follow"/> false it
    /// stops at the end of what is there now.
    /// </summary>
    public async IAsyncEnumerable<LogEvent> StreamProcessLogsAsync(string idOrName, string process, long cursor = 0, bool follow = true,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var message = NewRequest(HttpMethod.Get, ProcessPath(idOrName, process,
            $"/logs/stream?cursor={cursor.ToString(CultureInfo.InvariantCulture)}&follow={(follow ? "true" : "false")}"));
        message.Headers.Accept.Add(NdjsonMediaType);
        var body = await SendForStreamAsync(message, cancellationToken).ConfigureAwait(false);
        await using var reader = new NdjsonReader<LogEvent>(body, Json.LogEvent);
        while (true)
        {
            LogEvent? next;
            try
            {
                next = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                throw new HutchApiException(ClientErrorCodes.StreamInterrupted, 0,
                    $"The connection to the Hutch daemon at {BaseAddress} broke while following a log; resume from the last event's cursor.", e);
            }
            if (next is null)
            {
                yield break;
            }
            yield return next;
        }
    }

    private static string ProcessPath(string idOrName, string process, string? suffix = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(process);
        return SandboxPath(idOrName, "/processes/" + Uri.EscapeDataString(process) + suffix);
    }
}
