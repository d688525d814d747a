using System.Net;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// A shell line of tens of MiB (a heredoc written by a model) runs, sync and streamed: it reaches the
/// sandbox as a script, not as an argument the kernel would refuse. What cannot be rewritten (an argv
/// element, an environment) past the kernel's limits is 400 command_too_long, and a body past the
/// exec routes' cap is 413 request_too_large: never a 500.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class LargeCommandTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    /// <summary>`cat &lt;&lt;'EOF' | wc -c` over <paramref name="bytes"/> of lines, and the count it must print.</summary>
    private static (string Command, long Count) Heredoc(int bytes)
    {
        var line = new string('x', 99) + "\n";
        var body = new StringBuilder(bytes + 64);
        while (body.Length < bytes)
        {
            body.Append(line);
        }
        return ($"cat <<'EOF' | wc -c\n{body}EOF\n", body.Length);
    }

    [Fact]
    public async Task AThirtyMiBHeredoc_Runs_SyncAndStreamed()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Limits: new SandboxLimits(MemoryMiB: 512)));
        var (command, count) = Heredoc(30 << 20);

        var result = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: command, TimeoutMs: 120_000));
        var streamed = new StringBuilder();
        ExecExitEvent? exit = null;
        await foreach (var e in Client.ExecStreamAsync(sandbox.Id, new ExecRequest(Command: command, TimeoutMs: 120_000)))
        {
            if (e is ExecStdoutEvent o)
            {
                streamed.Append(Encoding.UTF8.GetString(o.Data.Span));
            }
            exit = e as ExecExitEvent ?? exit;
        }

        Assert.Equal(("", 0), (result.Stderr, result.ExitCode));
        Assert.Equal(count, long.Parse(result.Stdout.Trim()));
        Assert.Equal(count, long.Parse(streamed.ToString().Trim()));
        Assert.Equal(0, exit!.ExitCode);
    }

    [Fact]
    public async Task StdinOfEightMiB_WithALongCommand_ReachesTheCommand()
    {
        await using var sandbox = await fixture.CreateAsync();
        var stdin = new byte[8 << 20];
        Random.Shared.NextBytes(stdin);
        var padding = "# " + new string('p', 300_000) + "\n";

        var result = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: padding + "wc -c", StdinBase64: Convert.ToBase64String(stdin)));

        Assert.Equal($"{8 << 20}\n", result.Stdout);
    }

    [Fact]
    public async Task ALongShellLine_IsTheSameShellAsSmallOnes_ItsExitStatus_And_NoExtraDescriptor()
    {
        await using var sandbox = await fixture.CreateAsync();
        var padding = "# " + new string('p', 200_000) + "\n";

        var result = await Client.ExecAsync(sandbox.Id, new ExecRequest(
            Command: $"echo \"$0 $#\"; ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; read -r line; echo \"$line\"\n{padding}exit 7",
            Stdin: "from stdin\n"));

        Assert.Equal(7, result.ExitCode);
        // $0 as with `sh -c`; ls sees 0-2 and its own directory's fd (3), not the script's 9.
        Assert.Equal("/bin/sh 0\n0 1 2 3 \nfrom stdin\n", result.Stdout);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task AnArgvElementOrEnvPastTheKernelsLimit_IsStillCommandTooLong_SayingToUseStdinOrFiles()
    {
        await using var sandbox = await fixture.CreateAsync();

        var argv = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Argv: ["echo", new string('y', 200 << 10)])));
        var env = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true", Env: new() { ["BIG"] = new string('v', 200 << 10) })));

        foreach (var e in new[] { argv, env })
        {
            Assert.Equal((400, ErrorCodes.CommandTooLong), (e.Status, e.Code));
            Assert.Contains("stdin", e.Detail);
            Assert.Contains("files API", e.Detail);
        }
    }

    [Fact]
    public async Task AShellLinePast64MiB_IsCommandTooLong_AndABodyPastTheCap_Is413RequestTooLarge()
    {
        await using var sandbox = await fixture.CreateAsync();

        var tooLong = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "#" + new string('z', 65 << 20))));
        using var http = fixture.RawHttp();
        // The daemon answers from the headers (Content-Length) and closes: a client that waits for
        // 100-continue hears it instead of a broken pipe while it is still sending.
        http.DefaultRequestHeaders.ExpectContinue = true;
        using var huge = new ByteArrayContent(new byte[129 << 20]);
        huge.Headers.ContentType = new("application/json");
        using var response = await http.PostAsync($"/v1/sandboxes/{sandbox.Id}/exec", huge);
        var problem = await DaemonFixture.ProblemOf(response);

        Assert.Equal((400, ErrorCodes.CommandTooLong), (tooLong.Status, tooLong.Code));
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, ErrorCodes.RequestTooLarge), (response.StatusCode, problem.Code));
        Assert.Contains("134,217,728 bytes", problem.Detail);
    }
}
