using System.Net;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Secrets;

/// <summary>/v1/secrets through the real daemon, and `hutch secret` as a user runs it: metadata out, values never.</summary>
public sealed class SecretsApiTests(DaemonFixture fixture) : IClassFixture<DaemonFixture>
{
    private const string Value = "sk-live-api-test-9f8e7d6c5b4a";

    [Fact]
    public async Task TheApi_StoresListsRotatesAndDeletes_AndNoAnswerHoldsTheValue()
    {
        var client = fixture.Client;
        var created = await client.CreateSecretAsync(new CreateSecretRequest("API_ROUND_TRIP", Value, Description: "round trip", Hosts: ["api.example.org"]));
        using var http = fixture.RawHttp();
        var raw = await http.GetStringAsync("/v1/secrets");
        var one = await http.GetStringAsync("/v1/secrets/API_ROUND_TRIP");
        var rotated = await client.RotateSecretAsync("API_ROUND_TRIP", new RotateSecretRequest("sk-live-second-value-0000"));
        var again = await Assert.ThrowsAsync<HutchApiException>(() => client.CreateSecretAsync(new CreateSecretRequest("API_ROUND_TRIP", Value)));
        var bad = await Assert.ThrowsAsync<HutchApiException>(() => client.CreateSecretAsync(new CreateSecretRequest("bad name", Value)));
        await client.DeleteSecretAsync("API_ROUND_TRIP");
        var gone = await Assert.ThrowsAsync<HutchApiException>(() => client.GetSecretAsync("API_ROUND_TRIP"));

        Assert.Equal((1, "round trip"), (created.Version, created.Description));
        Assert.Equal(2, rotated.Version);
        Assert.Contains("\"name\":\"API_ROUND_TRIP\"", raw, StringComparison.Ordinal);
        Assert.DoesNotContain(Value, raw + one, StringComparison.Ordinal);
        Assert.Equal((ErrorCodes.SecretExists, 409), (again.Code, again.Status));
        Assert.Equal((ErrorCodes.InvalidSecret, 400), (bad.Code, bad.Status));
        Assert.Equal((ErrorCodes.SecretNotFound, 404), (gone.Code, gone.Status));
        Assert.DoesNotContain(await client.ListSecretsAsync(), s => s.Name == "API_ROUND_TRIP");
        // The data dir holds no value in the clear: not the registry, not the daemon's files.
        // (daemon.lock is held locked by the daemon and holds only its pid; the workspaces' volume image is skipped.)
        foreach (var file in Directory.GetFiles(fixture.DataDir, "*", SearchOption.TopDirectoryOnly)
            .Where(f => !f.EndsWith(".lock", StringComparison.Ordinal) && new FileInfo(f).Length < 64 << 20))
        {
            Assert.False(Encoding.Latin1.GetString(await File.ReadAllBytesAsync(file)).Contains(Value, StringComparison.Ordinal), $"{file} holds the value");
        }
    }

    [Fact]
    public async Task TheCli_ReadsTheValueFromStdinOnly_AndShowsMetadata()
    {
        var set = await HutchAsync(Encoding.UTF8.GetBytes(Value + "\n"), "secret", "set", "CLI_KEY", "--host", "api.example.org", "--description", "from the cli",
            "--substitute", "header,body");
        var empty = await HutchAsync([], "secret", "set", "CLI_OTHER");
        var list = await HutchAsync(null, "secret", "ls");
        var show = await HutchAsync(null, "secret", "show", "CLI_KEY");
        var rotate = await HutchAsync("rotated-value-abcdefgh"u8.ToArray(), "secret", "rotate", "CLI_KEY");
        var remove = await HutchAsync(null, "secret", "rm", "CLI_KEY");

        Assert.Equal("CLI_KEY: stored (version 1)\n", Text(set.Stdout));
        Assert.Equal(1, empty.Code);
        Assert.Contains("at least 8 bytes", empty.Stderr, StringComparison.Ordinal);
        Assert.EndsWith("(invalid_secret)\n", empty.Stderr, StringComparison.Ordinal);
        Assert.Matches(@"CLI_KEY +1 +.+ +api\.example\.org +from the cli", Text(list.Stdout));
        Assert.Contains("hosts        api.example.org\nsubstitute   header,body\n", Text(show.Stdout), StringComparison.Ordinal);
        Assert.Equal("CLI_KEY: rotated (version 2)\n", Text(rotate.Stdout));
        Assert.Equal("CLI_KEY: deleted\n", Text(remove.Stdout));
        Assert.DoesNotContain(Value, Text(list.Stdout) + Text(show.Stdout), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCli_GivesASandboxASecret_AndShowsOnlyItsName()
    {
        await HutchAsync(Encoding.UTF8.GetBytes(Value), "secret", "set", "CLI_USED");
        var create = await HutchAsync(null, "create", "--secret", "CLI_USED:MY_TOKEN", "--secret", "CLI_USED:file:token.txt");
        var id = Text(create.Stdout).Trim();
        var printed = await HutchAsync(null, "exec", id, "--", "sh", "-c", "echo \"$MY_TOKEN\"; printf %s \"$MY_TOKEN\" | cmp /run/secrets/token.txt - && echo same");
        var info = await HutchAsync(null, "info", id);
        var busy = await HutchAsync(null, "secret", "rm", "CLI_USED");
        await HutchAsync(null, "rm", id);
        var removed = await HutchAsync(null, "secret", "rm", "CLI_USED");

        Assert.True(create.Code == 0, create.Stderr);
        Assert.Equal("[REDACTED:CLI_USED]\nsame\n", Text(printed.Stdout));
        Assert.Contains("secrets  CLI_USED as $MY_TOKEN (env), CLI_USED in /run/secrets/token.txt", Text(info.Stdout), StringComparison.Ordinal);
        Assert.Equal(1, busy.Code);
        Assert.Contains($"used by {id}", busy.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, removed.Code);
    }

    [Fact]
    public async Task AtATerminal_TheValueIsTypedWithEchoOff()
    {
        // script(1) gives hutch a real terminal and types what it reads from its own stdin.
        var psi = new System.Diagnostics.ProcessStartInfo("script", ["-qec", $"{TestPaths.Cli} secret set TYPED_KEY", "/dev/null"])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        psi.Environment["HUTCH_URL"] = fixture.Daemon.Url;
        psi.Environment["HUTCH_API_KEY"] = fixture.ApiKey;
        using var script = System.Diagnostics.Process.Start(psi)!;
        // Type only once the prompt is up (hutch turns echo off before it shows it).
        var shown = new StringBuilder();
        var buffer = new char[256];
        while (!shown.ToString().Contains("Value (not shown): ", StringComparison.Ordinal))
        {
            var n = await script.StandardOutput.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(n > 0, $"script ended before the prompt: {shown}");
            shown.Append(buffer, 0, n);
        }
        var output = script.StandardOutput.ReadToEndAsync();
        await script.StandardInput.WriteAsync("typed-at-the-prompt-42\n");
        await script.StandardInput.FlushAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await script.WaitForExitAsync(timeout.Token);
        var all = shown + await output;

        Assert.Contains("TYPED_KEY: stored (version 1)", all, StringComparison.Ordinal);
        Assert.DoesNotContain("typed-at-the-prompt-42", all, StringComparison.Ordinal); // not echoed
        Assert.Equal(1, (await fixture.Client.GetSecretAsync("TYPED_KEY")).Version);
        await fixture.Client.DeleteSecretAsync("TYPED_KEY");
    }

    private Task<(int Code, byte[] Stdout, string Stderr)> HutchAsync(byte[]? stdin, params string[] args) =>
        CliProcess.RunAsync(fixture, Path.GetTempPath(), stdin, args);

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
