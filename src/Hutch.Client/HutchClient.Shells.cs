using System.Globalization;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using Hutch.Protocol.Api;

namespace Hutch.Client;

// PTY shells: /v1/sandboxes/{idOrName}/shells (docs/shells.md).
public sealed partial class HutchClient
{
    /// <summary>
    /// Opens a shell on a pseudo-terminal (<c>POST …/shells</c>): <c>/bin/bash -l</c> unless the
    /// request names a command, 80x24 unless it gives a size. It lives on, like a background process,
    /// until it exits or is closed; drive it with <see cref="AttachShellAsync"/> or the input and
    /// output calls.
    /// </summary>
    public Task<ProcessInfo> OpenShellAsync(string idOrName, OpenShellRequest? request = null, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, SandboxPath(idOrName, "/shells"), request ?? new OpenShellRequest(), Json.OpenShellRequest), Json.ProcessInfo, cancellationToken);

    /// <summary>Every shell of the sandbox, open and ended, oldest first.</summary>
    public async Task<IReadOnlyList<ProcessInfo>> ListShellsAsync(string idOrName, CancellationToken cancellationToken = default) =>
        (await SendForJsonAsync(NewRequest(HttpMethod.Get, SandboxPath(idOrName, "/shells")), Json.ShellList, cancellationToken).ConfigureAwait(false)).Shells;

    /// <summary>A shell (by id, or the newest with that name): its state, exit status and terminal size.</summary>
    public Task<ProcessInfo> GetShellAsync(string idOrName, string shell, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, ShellPath(idOrName, shell)), Json.ProcessInfo, cancellationToken);

    /// <summary>Types bytes on the shell's terminal (<c>\r</c> is Enter, 0x03 is Ctrl-C, 0x04 is Ctrl-D).</summary>
    public async Task WriteShellInputAsync(string idOrName, string shell, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Post, ShellPath(idOrName, shell, "/input"));
        request.Content = new ReadOnlyMemoryContent(data);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Types text (UTF-8) on the shell's terminal: <c>WriteShellInputAsync(id, shell, "ls\r")</c>.</summary>
    public Task WriteShellInputAsync(string idOrName, string shell, string text, CancellationToken cancellationToken = default) =>
        WriteShellInputAsync(idOrName, shell, System.Text.Encoding.UTF8.GetBytes(text), cancellationToken);

    /// <summary>What the terminal wrote from <paramref name="cursor"/> up to now (at most <paramref name="maxBytes"/>); pass the returned Cursor next time.</summary>
    public Task<ShellOutput> ReadShellOutputAsync(string idOrName, string shell, long cursor = 0, long? maxBytes = null, string? encoding = null, CancellationToken cancellationToken = default)
    {
        var query = $"/output?cursor={cursor.ToString(CultureInfo.InvariantCulture)}"
            + (maxBytes is { } m ? "&maxBytes=" + m.ToString(CultureInfo.InvariantCulture) : "")
            + (encoding is null ? "" : "&encoding=" + Uri.EscapeDataString(encoding));
        return SendForJsonAsync(NewRequest(HttpMethod.Get, ShellPath(idOrName, shell, query)), Json.ShellOutput, cancellationToken);
    }

    /// <summary>Sets the terminal's size (1-1000 each); the program in its foreground gets SIGWINCH.</summary>
    public Task<ProcessInfo> ResizeShellAsync(string idOrName, string shell, int cols, int rows, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, ShellPath(idOrName, shell, "/resize"), new ResizeShellRequest(cols, rows), Json.ResizeShellRequest), Json.ProcessInfo, cancellationToken);

    /// <summary>"INT" interrupts the command in the foreground (like Ctrl-C); "TERM", "HUP" and "KILL" go to the shell's whole tree.</summary>
    public Task<ProcessInfo> SignalShellAsync(string idOrName, string shell, string signal, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, ShellPath(idOrName, shell, "/signal"), new SignalRequest(signal), Json.SignalRequest), Json.ProcessInfo, cancellationToken);

    /// <summary>
    /// Closes the shell like a terminal hang-up: SIGHUP to its tree, SIGKILL after <paramref name="grace"/>
    /// (the daemon's default is 2 s). Returns the shell as it ended; its output stays readable.
    /// </summary>
    public Task<ProcessInfo> CloseShellAsync(string idOrName, string shell, TimeSpan? grace = null, CancellationToken cancellationToken = default)
    {
        var query = grace is { } g ? "?graceMs=" + ((long)g.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) : null;
        return SendForJsonAsync(NewRequest(HttpMethod.Delete, ShellPath(idOrName, shell, query)), Json.ProcessInfo, cancellationToken);
    }

    /// <summary>
    /// Attaches to a shell over a WebSocket (<c>GET …/shells/{shell}/attach</c>): its output from
    /// <paramref name="cursor"/> (0: everything still in its log), then live; input and resizes go the
    /// other way. Disposing the attachment detaches; the shell runs on.
    /// </summary>
    /// <exception cref="HutchApiException">No such sandbox or shell, a refused key, or no daemon.</exception>
    public async Task<ShellAttachment> AttachShellAsync(string idOrName, string shell, long cursor = 0, CancellationToken cancellationToken = default)
    {
        // Asked over plain HTTP first: a refusal then carries its problem+json code (shell_not_found,
        // sandbox_not_found), which a failed WebSocket handshake does not expose.
        var info = await GetShellAsync(idOrName, shell, cancellationToken).ConfigureAwait(false);
        var address = new UriBuilder(new Uri(BaseAddress, ShellPath(idOrName, info.Id, "/attach?cursor=" + cursor.ToString(CultureInfo.InvariantCulture))));
        address.Scheme = address.Scheme == Uri.UriSchemeHttps ? "wss" : "ws";
        var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", _authorization.ToString());
        socket.Options.Proxy = null;
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
        socket.Options.CollectHttpResponseDetails = true;
        try
        {
            await socket.ConnectAsync(address.Uri, cancellationToken).ConfigureAwait(false);
        }
        catch (WebSocketException e)
        {
            var status = (int)socket.HttpStatusCode;
            socket.Dispose();
            throw status == 0
                ? ConnectionFailure(e)
                : new HutchApiException(CodeForStatus(status), status, $"The daemon refused to attach to shell {info.Id} (HTTP {status}).", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ShellAttachment(socket, info, cursor);
    }

    private static string ShellPath(string idOrName, string shell, string? suffix = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(shell);
        return SandboxPath(idOrName, "/shells/" + Uri.EscapeDataString(shell) + suffix);
    }
}
