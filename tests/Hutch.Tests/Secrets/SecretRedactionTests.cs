using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Secrets;

/// <summary>
/// Redaction beyond exec, through the real daemon: background process logs read whole, polled from
/// every cursor and followed; session commands; a shell's terminal output; text file reads in ranges
/// that cut a value; file names and error messages that hold one.
/// </summary>
public sealed class SecretRedactionTests(DaemonFixture fixture) : IClassFixture<DaemonFixture>
{
    private const string Name = "REDACTION_TEST_KEY";
    private static readonly string Value = $"rk-{Guid.NewGuid():N}";
    private static readonly string Marker = $"[REDACTED:{Name}]";

    private HutchClient Client => fixture.Client;

    private async Task<TestSandbox> SandboxAsync()
    {
        try
        {
            await Client.GetSecretAsync(Name);
        }
        catch (HutchApiException e) when (e.Code == ErrorCodes.SecretNotFound)
        {
            await Client.CreateSecretAsync(new CreateSecretRequest(Name, Value));
        }
        return await fixture.CreateAsync(new CreateSandboxRequest(Secrets: [new SecretUse(Name, Env: "KEY")]));
    }

    /// <summary>Prints the value a few bytes at a time with pauses, so the log holds it in several frames.</summary>
    private const string Slowly = "printf %s \"$KEY\" | fold -w4 | while IFS= read -r c; do printf %s \"$c\"; sleep 0.05; done; echo; echo done";

    [Fact]
    public async Task AProcessLog_ReadWholeOrPolledFromEveryCursor_NeverShowsTheValue()
    {
        await using var sandbox = await SandboxAsync();
        var process = await Client.StartProcessAsync(sandbox.Id, Slowly);

        // Poll while it prints: each read resumes where the last one said.
        var polled = new StringBuilder();
        long cursor = 0;
        var cursors = new List<long>();
        for (var i = 0; i < 400; i++)
        {
            var logs = await Client.ReadProcessLogsAsync(sandbox.Id, process.Id, cursor);
            polled.Append(logs.Stdout);
            cursor = logs.Cursor;
            cursors.Add(cursor);
            if (logs.Process.State != ProcessStates.Running && !logs.More)
            {
                break;
            }
            await Task.Delay(15);
        }
        var whole = await Client.ReadProcessLogsAsync(sandbox.Id, process.Id);
        var followed = new StringBuilder();
        await foreach (var e in Client.StreamProcessLogsAsync(sandbox.Id, process.Id))
        {
            if (e is LogStdoutEvent o)
            {
                followed.Append(Encoding.UTF8.GetString(o.Data.Span));
            }
        }
        var fromEachCursor = new List<string>();
        foreach (var c in cursors.Distinct())
        {
            fromEachCursor.Add((await Client.ReadProcessLogsAsync(sandbox.Id, process.Id, c)).Stdout);
        }

        Assert.Equal($"{Marker}\ndone\n", whole.Stdout);
        Assert.Equal(whole.Stdout, polled.ToString());
        Assert.Equal(whole.Stdout, followed.ToString());
        Assert.All(fromEachCursor, text => Assert.DoesNotContain(Value[..8], text, StringComparison.Ordinal));
        Assert.All(fromEachCursor, text => Assert.DoesNotContain(Value[^8..], text, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASessionCommand_IsRedacted()
    {
        await using var sandbox = await SandboxAsync();
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest("dev"));

        var result = await Client.SessionExecAsync(sandbox.Id, "dev", "echo \"$KEY\"; echo \"$KEY\" >&2; false");

        Assert.Equal((1, $"{Marker}\n", $"{Marker}\n"), (result.ExitCode, result.Stdout, result.Stderr));
    }

    [Fact]
    public async Task AShellsTerminalOutput_IsRedacted()
    {
        await using var sandbox = await SandboxAsync();
        var shell = await Client.OpenShellAsync(sandbox.Id);

        await Client.WriteShellInputAsync(sandbox.Id, shell.Id, "echo \"v=$KEY\"; exit\n");
        var text = new StringBuilder();
        long cursor = 0;
        for (var i = 0; i < 400; i++)
        {
            var output = await Client.ReadShellOutputAsync(sandbox.Id, shell.Id, cursor);
            text.Append(output.Data);
            cursor = output.Cursor;
            if (output.Shell.State != ProcessStates.Running && !output.More)
            {
                break;
            }
            await Task.Delay(25);
        }

        Assert.Contains($"v={Marker}", text.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Value[..8], text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATextRead_IsRedacted_EvenInRangesThatCutTheValue_ButARawDownloadIsNot()
    {
        await using var sandbox = await SandboxAsync();
        await sandbox.ShAsync("printf 'token: %s end\\n' \"$KEY\" > token.txt");
        const int at = 7; // where the value begins

        var whole = await Client.ReadFileAsync(sandbox.Id, "token.txt");
        var pieces = new List<FileContent>();
        for (var offset = 0; offset < Value.Length + 12; offset += 5)
        {
            pieces.Add(await Client.ReadFileAsync(sandbox.Id, "token.txt", offset, 5));
        }
        await using var raw = await Client.DownloadAsync(sandbox.Id, "token.txt");
        using var reader = new StreamReader(raw);

        Assert.Equal(($"token: {Marker} end\n", 1), (whole.Content, whole.Redacted));
        // Each 5-byte range that holds any byte of the value shows the marker in its place; put together
        // (one marker per range), they read as the whole file does.
        Assert.All(pieces.Where(p => p.Offset + 5 > at && p.Offset < at + Value.Length), p => Assert.Contains(Marker, p.Content, StringComparison.Ordinal));
        var joined = string.Concat(pieces.Select(p => p.Content));
        Assert.Equal(whole.Content, System.Text.RegularExpressions.Regex.Replace(joined, $"({System.Text.RegularExpressions.Regex.Escape(Marker)})+", Marker));
        Assert.Equal($"token: {Value} end\n", await reader.ReadToEndAsync()); // bytes stay bytes, and the download is on record
        var recorded = (await Client.GetEventsAsync(sandbox.Id)).Where(e => e.Type == SandboxEventTypes.FileReadRaw).ToList();
        Assert.Contains("'token.txt' (47 bytes)", Assert.Single(recorded).Message, StringComparison.Ordinal);
        await using var plain = await fixture.CreateAsync();
        await Client.WriteTextAsync(plain.Id, "f.txt", "x");
        await (await Client.DownloadAsync(plain.Id, "f.txt")).DisposeAsync();
        Assert.DoesNotContain(await Client.GetEventsAsync(plain.Id), e => e.Type == SandboxEventTypes.FileReadRaw); // nothing to record without secrets
    }

    [Fact]
    public async Task FileNames_AndErrorMessages_ThatHoldTheValue_AreRedacted()
    {
        await using var sandbox = await SandboxAsync();
        await sandbox.ShAsync("mkdir d && touch \"d/$KEY.txt\"");

        var list = await Client.ListFilesAsync(sandbox.Id, "d");
        var missing = await Assert.ThrowsAsync<HutchApiException>(() => Client.ReadFileAsync(sandbox.Id, $"nowhere/{Value}"));

        Assert.Equal($"d/{Marker}.txt", Assert.Single(list.Entries).Path);
        Assert.Contains(Marker, missing.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Value, missing.Message, StringComparison.Ordinal);
    }
}
