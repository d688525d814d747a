using System.Net;
using System.Net.WebSockets;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Shells;

/// <summary>Live terminals over the attach WebSocket: replay, live echo, resize, exit, and who may connect.</summary>
[Collection(DaemonCollection.Name)]
public class ShellAttachTests(DaemonFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task Attach_ReplaysFromCursorZero_ThenEchoesLive_ThenReportsTheExitAndCloses()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);
        await screen.TypeAsync("echo before-$((1+1))\r");
        await screen.WaitForAsync("before-2");

        await using var terminal = await Client.AttachShellAsync(sandbox.Id, shell.Id, cursor: 0);
        var replayed = await ReadUntilAsync(terminal, "before-2");
        await terminal.SendInputAsync("echo live-$((40+2))\r");
        var live = await ReadUntilAsync(terminal, "live-42");
        await terminal.SendInputAsync("exit 3\r");
        var rest = await ReadToEndAsync(terminal);

        Assert.Contains("echo before-$((1+1))", replayed.Text);
        Assert.Contains("echo live-$((40+2))\r\n", live.Text); // the terminal's own echo of the typed line
        Assert.Equal(new ShellExitEvent(3, null), terminal.Exit);
        Assert.Equal(rest.Events.OfType<ShellCursorEvent>().Last().Cursor, (await Client.GetShellAsync(sandbox.Id, shell.Id)).LogBytes);
    }

    [Fact]
    public async Task Attach_FromALaterCursor_ReplaysOnlyWhatCameAfter()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Command: "echo first; read x; echo second-$x; sleep 30"));
        var screen = new ShellScreen(Client, sandbox.Id, shell.Id);
        await screen.WaitForAsync("first");
        var cursor = screen.Cursor;

        await screen.TypeAsync("go\r");
        await screen.WaitForAsync("second-go");
        await using var terminal = await Client.AttachShellAsync(sandbox.Id, shell.Id, cursor);
        var seen = await ReadUntilAsync(terminal, "second-go");

        Assert.DoesNotContain("first", seen.Text);
    }

    [Fact]
    public async Task Resize_OverTheSocket_ReachesTheTerminal_AndABadOneIsAnsweredWithAnError()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);
        await using var terminal = await Client.AttachShellAsync(sandbox.Id, shell.Id);

        await terminal.ResizeAsync(0, 10);
        var error = await ReadUntilAsync(terminal, (_, e) => e is ShellErrorEvent);
        await terminal.ResizeAsync(101, 31);
        await terminal.SendInputAsync("stty size\r");
        await ReadUntilAsync(terminal, "31 101\r\n");

        Assert.Equal(ErrorCodes.InvalidTerminalSize, ((ShellErrorEvent)error.Events[^1]).Code);
        Assert.Equal(new TerminalSize(101, 31), (await Client.GetShellAsync(sandbox.Id, shell.Id)).Terminal);
    }

    [Fact]
    public async Task Detaching_LeavesTheShellRunning_AndASecondAttachGoesOnFromTheCursor()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);
        long cursor;
        await using (var first = await Client.AttachShellAsync(sandbox.Id, shell.Id))
        {
            await first.SendInputAsync("export MARK=kept\r");
            await first.SendInputAsync("echo one-$MARK\r");
            // Until a cursor that covers the echo: what a client keeps to reattach from.
            await ReadUntilAsync(first, (text, e) => e is ShellCursorEvent && text.Contains("one-kept", StringComparison.Ordinal));
            cursor = first.Cursor;
        }

        await using var second = await Client.AttachShellAsync(sandbox.Id, shell.Id, cursor);
        await second.SendInputAsync("echo two-$MARK\r");
        var seen = await ReadUntilAsync(second, "two-kept");

        Assert.Equal(ProcessStates.Running, (await Client.GetShellAsync(sandbox.Id, shell.Id)).State);
        Assert.DoesNotContain("one-kept", seen.Text);
    }

    [Fact]
    public async Task Attach_WithoutTheApiKey_IsRefusedBeforeTheUpgrade()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);
        var address = new Uri(new Uri(fixture.Daemon.Url.Replace("http://", "ws://", StringComparison.Ordinal)), $"/v1/sandboxes/{sandbox.Id}/shells/{shell.Id}/attach");

        var none = await ConnectRawAsync(address, authorization: null);
        var wrong = await ConnectRawAsync(address, authorization: "Bearer not-the-key");
        var right = await ConnectRawAsync(address, authorization: $"Bearer {fixture.ApiKey}");

        Assert.Equal(HttpStatusCode.Unauthorized, none);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, right);
    }

    [Fact]
    public async Task Attach_ToAnEndedShell_ReplaysItAndReportsTheExit()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Command: "echo gone-soon; exit 9"));
        await Client.WaitProcessAsync(sandbox.Id, shell.Id, Patience);

        await using var terminal = await Client.AttachShellAsync(sandbox.Id, shell.Id);
        var all = await ReadToEndAsync(terminal);

        Assert.Contains("gone-soon", all.Text);
        Assert.Equal(new ShellExitEvent(9, null), terminal.Exit);
    }

    [Fact]
    public async Task Attached_WhenTheSandboxIsDeleted_TheClientIsToldAndTheSocketCloses()
    {
        var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);
        await using var terminal = await Client.AttachShellAsync(sandbox.Id, shell.Id);
        await terminal.SendInputAsync("echo attached\r");
        await ReadUntilAsync(terminal, "attached");

        await sandbox.DisposeAsync();
        var rest = await ReadToEndAsync(terminal);

        Assert.Null(terminal.Exit);
        Assert.IsType<ShellErrorEvent>(rest.Events[^1]);
    }

    [Fact]
    public async Task ControlMessage_OfTheWrongType_IsAnsweredWithAnErrorNamingTheFieldAndItsJsonType()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {fixture.ApiKey}");
        await socket.ConnectAsync(new Uri($"{fixture.Daemon.Url.Replace("http://", "ws://")}/v1/sandboxes/{sandbox.Id}/shells/{shell.Id}/attach"), CancellationToken.None);
        using var timeout = new CancellationTokenSource(Patience);

        await socket.SendAsync("{\"type\":\"resize\",\"cols\":\"80\",\"rows\":24}"u8.ToArray(), WebSocketMessageType.Text, true, timeout.Token);
        string? error = null;
        var buffer = new byte[64 << 10];
        while (error is null)
        {
            var received = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.NotEqual(WebSocketMessageType.Close, received.MessageType);
            var text = Encoding.UTF8.GetString(buffer, 0, received.Count);
            if (received.MessageType == WebSocketMessageType.Text && text.Contains("\"error\""))
            {
                error = text;
            }
        }

        using var message = System.Text.Json.JsonDocument.Parse(error);
        Assert.Equal(ErrorCodes.InvalidRequest, message.RootElement.GetProperty("code").GetString());
        Assert.Contains("'cols' must be an integer", message.RootElement.GetProperty("message").GetString());
        Assert.DoesNotContain("System.", error);
    }

    [Fact]
    public async Task AttachRoute_WithoutAWebSocket_OrWithABadCursor_IsAProblem()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Command: "echo some output here; sleep 30"));
        await new ShellScreen(Client, sandbox.Id, shell.Id).WaitForAsync("here");
        using var http = new HttpClient { BaseAddress = new Uri(fixture.Daemon.Url) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", fixture.ApiKey);

        using var plain = await http.GetAsync($"/v1/sandboxes/{sandbox.Id}/shells/{shell.Id}/attach");
        var badCursor = await Assert.ThrowsAsync<HutchApiException>(() => Client.AttachShellAsync(sandbox.Id, shell.Id, cursor: 5));

        Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
        Assert.Contains(ErrorCodes.InvalidRequest, await plain.Content.ReadAsStringAsync());
        Assert.Equal(400, badCursor.Status);
    }

    private sealed record Seen(string Text, List<ShellEvent> Events);

    /// <summary>Reads events until the output holds <paramref name="expected"/>.</summary>
    private static Task<Seen> ReadUntilAsync(ShellAttachment terminal, string expected) =>
        ReadUntilAsync(terminal, (text, _) => text.Contains(expected, StringComparison.Ordinal));

    /// <summary>Reads events until <paramref name="stop"/> says so, given the output so far and the last event.</summary>
    private static async Task<Seen> ReadUntilAsync(ShellAttachment terminal, Func<string, ShellEvent, bool> stop)
    {
        var (seen, stopped) = await ReadAsync(terminal, stop);
        if (!stopped)
        {
            Assert.Fail($"the attachment closed before the expected event; it showed:\n{seen.Text}");
        }
        return seen;
    }

    /// <summary>Reads every event until the server closes the attachment.</summary>
    private static async Task<Seen> ReadToEndAsync(ShellAttachment terminal) => (await ReadAsync(terminal, (_, _) => false)).Seen;

    /// <summary>Events until <paramref name="stop"/> says so (Stopped) or the server closes the attachment.</summary>
    private static async Task<(Seen Seen, bool Stopped)> ReadAsync(ShellAttachment terminal, Func<string, ShellEvent, bool> stop)
    {
        using var timeout = new CancellationTokenSource(Patience);
        var events = new List<ShellEvent>();
        var text = new StringBuilder();
        while (await terminal.ReadAsync(timeout.Token) is { } e)
        {
            events.Add(e);
            if (e is ShellOutputEvent o)
            {
                text.Append(Encoding.UTF8.GetString(o.Data.Span));
            }
            if (stop(text.ToString(), e))
            {
                return (new Seen(text.ToString(), events), true);
            }
        }
        return (new Seen(text.ToString(), events), false);
    }

    /// <summary>The HTTP status a bare WebSocket handshake gets (101 when it is accepted).</summary>
    private static async Task<HttpStatusCode> ConnectRawAsync(Uri address, string? authorization)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (authorization is not null)
        {
            socket.Options.SetRequestHeader("Authorization", authorization);
        }
        try
        {
            await socket.ConnectAsync(address, CancellationToken.None);
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        }
        catch (WebSocketException)
        {
            // Refused: the status says why.
        }
        return socket.HttpStatusCode;
    }
}
