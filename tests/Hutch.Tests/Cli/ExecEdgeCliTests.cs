using System.Text.Json;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>`hutch exec` at issue #10's edges, as the published program: what a timeout killed.</summary>
[Collection(DaemonCollection.Name)]
public sealed class ExecEdgeCliTests(DaemonFixture fixture)
{
    [Fact]
    public async Task OnTimeout_TheJsonSaysWhichGroupWasKilled_AndTheStderrLineNamesIt()
    {
        await using var sandbox = await fixture.CreateAsync();

        var json = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, "exec", sandbox.Id, "--json", "--timeout", "0.3", "--", "sleep", "100");
        var human = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, "exec", sandbox.Id, "--timeout", "0.3", "--", "sleep", "100");

        Assert.Equal(124, json.Code);
        using var result = JsonDocument.Parse(json.Stdout);
        var killed = result.RootElement.GetProperty("killed");
        Assert.Equal(("timeout", "SIGKILL", 1), (killed.GetProperty("reason").GetString(), killed.GetProperty("signal").GetString(), killed.GetProperty("processes").GetInt32()));
        Assert.True(result.RootElement.GetProperty("durationMs").GetInt64() >= 250);
        Assert.Equal(124, human.Code);
        Assert.Matches(@"killed: SIGKILL to its process group \d+ \(1 process\)", human.Stderr);
    }

    [Fact]
    public async Task AThirtyMiBScript_RunsThroughShellFile_AndAnOversizedEnvIsCommandTooLong()
    {
        await using var sandbox = await fixture.CreateAsync();
        var body = string.Concat(Enumerable.Repeat(new string('x', 99) + "\n", (30 << 20) / 100));
        var dir = TestPaths.NewTempDir("hutch-script");
        var script = Path.Join(dir, "big.sh");
        await File.WriteAllTextAsync(script, $"cat <<'EOF' | wc -c\n{body}EOF\n");
        // 3 x 100 KiB: each --env fits hutch's own argv, the map is past the 256 KiB an exec takes.
        var env = Enumerable.Range(0, 3).SelectMany(i => new[] { "--env", $"V{i}={new string('v', 100 << 10)}" }).ToArray();

        var (code, stdout, stderr) = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, "exec", sandbox.Id, "--shell-file", script);
        var tooLong = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, ["exec", sandbox.Id, .. env, "--", "true"]);
        Directory.Delete(dir, recursive: true); // 30 MiB a run otherwise

        Assert.True(code == 0, stderr);
        Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), System.Text.Encoding.UTF8.GetString(stdout).Trim());
        Assert.NotEqual(0, tooLong.Code);
        Assert.Contains("command_too_long", tooLong.Stderr);
    }

    [Fact]
    public async Task ATruncatedExec_NamesHutchOutput_WhichWritesAllOfIt()
    {
        await using var sandbox = await fixture.CreateAsync();
        var expected = string.Concat(Enumerable.Range(1, 50_000).Select(i => i + "\n"));

        var cut = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, "exec", sandbox.Id, "--max-output", "1000", "--", "seq", "50000");
        var named = System.Text.RegularExpressions.Regex.Match(cut.Stderr, $@"hutch output {sandbox.Id} (out-[a-z0-9]+) \[--stderr\]");
        Assert.True(named.Success, cut.Stderr);
        var all = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, "output", sandbox.Id, named.Groups[1].Value);

        Assert.Equal(250, cut.Code);
        Assert.Equal(1000, cut.Stdout.Length);
        Assert.Equal((0, expected), (all.Code, System.Text.Encoding.UTF8.GetString(all.Stdout)));
    }

    [Fact]
    public async Task ANulByteInAShellFile_IsInvalidCommand()
    {
        await using var sandbox = await fixture.CreateAsync();
        var dir = TestPaths.NewTempDir("hutch-script");
        var script = Path.Join(dir, "nul.sh");
        await File.WriteAllBytesAsync(script, "echo a\0b\n"u8.ToArray());

        var (code, stdout, stderr) = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, "exec", sandbox.Id, "--shell-file", script);
        Directory.Delete(dir, recursive: true);

        Assert.NotEqual(0, code);
        Assert.Empty(stdout);
        Assert.Contains("(invalid_command)", stderr);
    }
}
