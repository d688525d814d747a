using System.Diagnostics;
using System.Text.Json;
using Hutch.Linux;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>
/// `hutch exec` driven the way agent harnesses drive it: the published program against a real daemon,
/// with a stdin pipe that is never closed (Node's child_process.spawn), under Python's
/// subprocess.run(capture_output=True), interrupted by a signal, read by `head`, over the output cap.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class ExecHarnessTests(DaemonFixture fixture)
{
    /// <summary>Long enough for a loaded host, far shorter than "forever", which is what these used to take.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task UnderNodeSpawn_WithAStdinPipeNeverClosed_TheCommandFinishes_EvenOneThatReadsStdin()
    {
        await using var sandbox = await fixture.CreateAsync();

        // spawn() with default stdio gives the child three pipes and never ends its stdin.
        const string Harness = """
            const { spawn } = require('child_process');
            const child = spawn(process.argv[1], process.argv.slice(2)); // node -e CODE PROGRAM ARGS…: argv[1] is PROGRAM
            let out = '', err = '';
            child.stdout.on('data', d => out += d);
            child.stderr.on('data', d => err += d);
            child.on('close', (code, signal) => { console.log(JSON.stringify({ code, signal, out, err })); process.exit(0); });
            """;
        var (code, stdout, stderr) = Node is { } node
            ? await RunAsync(node, ["-e", Harness, TestPaths.Cli, "exec", sandbox.Id, "--", "sh", "-c", "cat; echo done"])
            : await RunHutchWithOpenStdinAsync("exec", sandbox.Id, "--", "sh", "-c", "cat; echo done");

        if (Node is not null)
        {
            Assert.True(code == 0, stderr);
            using var result = JsonDocument.Parse(stdout);
            (code, stdout, stderr) = (result.RootElement.GetProperty("code").GetInt32(), result.RootElement.GetProperty("out").GetString()!,
                result.RootElement.GetProperty("err").GetString()!);
        }
        Assert.Equal((0, "done\n", ""), (code, stdout, stderr));
    }

    [Fact]
    public async Task AsADotnetProcess_WithRedirectedStdinNeverClosed_TheCommandFinishes()
    {
        await using var sandbox = await fixture.CreateAsync();

        var (code, stdout, stderr) = await RunHutchWithOpenStdinAsync("exec", sandbox.Id, "--", "echo", "hi");

        Assert.Equal((0, "hi\n", ""), (code, stdout, stderr));
    }

    [Fact]
    public async Task UnderPythonSubprocessRun_WithCaptureOutput_TheCommandFinishes()
    {
        await using var sandbox = await fixture.CreateAsync();

        // capture_output leaves stdin inherited: here the harness's own stdin, a pipe nobody closes.
        const string Harness = """
            import json, subprocess, sys
            r = subprocess.run(sys.argv[1:], capture_output=True)
            print(json.dumps({"code": r.returncode, "out": r.stdout.decode(), "err": r.stderr.decode()}))
            """;
        var (code, stdout, stderr) = await RunAsync("python3", ["-c", Harness, TestPaths.Cli, "exec", sandbox.Id, "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);

        Assert.True(code == 0, stderr);
        using var result = JsonDocument.Parse(stdout);
        Assert.Equal((3, "out\n", "err\n"),
            (result.RootElement.GetProperty("code").GetInt32(), result.RootElement.GetProperty("out").GetString(), result.RootElement.GetProperty("err").GetString()));
    }

    [Fact]
    public async Task WithDashI_APipedStdin_IsGivenToTheCommand()
    {
        await using var sandbox = await fixture.CreateAsync();

        var (code, stdout, _) = await CliProcess.RunAsync(fixture, Path.GetTempPath(), "piped\n"u8.ToArray(), "exec", "-i", sandbox.Id, "--", "cat");

        Assert.Equal((0, "piped\n"), (code, System.Text.Encoding.UTF8.GetString(stdout)));
    }

    [Theory]
    [InlineData(15, 143)]
    [InlineData(2, 130)]
    public async Task ASignal_EndsHutchAtOnce_WithItsStatus_AndStopsTheCommand(int signal, int expected)
    {
        await using var sandbox = await fixture.CreateAsync();
        using var hutch = await StartSleeperAsync("exec", sandbox.Id);

        Processes.Signal(hutch.Id, signal);

        await hutch.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(expected, hutch.ExitCode);
        await WaitUntilGoneAsync(sandbox);
    }

    [Fact]
    public async Task ASignal_WithKeepRunning_EndsHutch_AndLeavesTheCommand()
    {
        await using var sandbox = await fixture.CreateAsync();
        using var hutch = await StartSleeperAsync("exec", "--keep-running", sandbox.Id);

        Processes.Signal(hutch.Id, 15);

        await hutch.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(143, hutch.ExitCode);
        Assert.Contains("the command runs on", await hutch.StandardError.ReadToEndAsync());
        await Task.Delay(500); // What would kill it (the daemon seeing the disconnect) has had its chance.
        Assert.Equal(0, (await sandbox.ShAsync("kill -0 $(cat /workspace/pid)")).ExitCode);
    }

    [Fact]
    public async Task ASignal_WhileHutchWaitsOnAReaderThatDoesNotRead_EndsHutchAtOnce_AndStopsTheCommand()
    {
        await using var sandbox = await fixture.CreateAsync();
        // The harness reads the first line, then nothing: the pipe fills and hutch blocks writing to it.
        using var hutch = Start("python3", ["-c", WithDefaultSigint, TestPaths.Cli, "exec", sandbox.Id, "--", "sh", "-c", "echo $$ > /workspace/pid; echo started; exec yes"]);
        Assert.Equal("started", await hutch.StandardOutput.ReadLineAsync().WaitAsync(Patience));
        await Task.Delay(1000);

        Processes.Signal(hutch.Id, 15);

        await hutch.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(143, hutch.ExitCode);
        await WaitUntilGoneAsync(sandbox);
    }

    [Fact]
    public async Task PipedIntoHead_HutchEndsWith141_AndTheCommandIsStopped()
    {
        await using var sandbox = await fixture.CreateAsync();

        // pipefail: the pipeline's status is hutch's, not head's.
        var (code, stdout, stderr) = await RunAsync("bash", ["-c", "set -o pipefail; \"$@\" | head -c 10", "harness", TestPaths.Cli, "exec", sandbox.Id, "--", "yes"]);

        Assert.Equal((141, "y\ny\ny\ny\ny\n"), (code, stdout));
        Assert.Empty(stderr);
        for (var i = 0; (await sandbox.ShAsync("pgrep -x yes")).ExitCode == 0; i++)
        {
            Assert.True(i < 100, "yes still runs in the sandbox after hutch ended");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task OutputPastTheCap_ExitsWith250_AndSaysSo_UnlessAllowed()
    {
        await using var sandbox = await fixture.CreateAsync();
        string[] tooMuch = ["--", "sh", "-c", "head -c 5000 /dev/zero | tr '\\0' a; exit 3"];

        var cut = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, ["exec", sandbox.Id, "--max-output", "1000", .. tooMuch]);
        var json = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, ["exec", sandbox.Id, "--json", "--max-output", "1K", .. tooMuch]);
        var allowed = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, ["exec", sandbox.Id, "--max-output", "1000", "--allow-truncation", .. tooMuch]);

        Assert.Equal(250, cut.Code);
        Assert.InRange(cut.Stdout.Length, 1, 1000);
        Assert.StartsWith("hutch: output truncated: only the first 1000 B of stdout and stderr were printed; the command exited with 3", cut.Stderr);
        Assert.Equal(250, json.Code);
        using var result = JsonDocument.Parse(json.Stdout);
        Assert.True(result.RootElement.GetProperty("truncated").GetBoolean());
        Assert.Equal(3, result.RootElement.GetProperty("exitCode").GetInt32());
        Assert.Equal(3, allowed.Code);
        Assert.Contains("output truncated", allowed.Stderr);
    }

    [Fact]
    public async Task OutputPastTheDefaultCap_IsCut_AndMaxOutputRaisesIt()
    {
        await using var sandbox = await fixture.CreateAsync();
        string[] seventeenMiB = ["--", "head", "-c", $"{17 << 20}", "/dev/zero"];

        var cut = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, ["exec", sandbox.Id, .. seventeenMiB]);
        var raised = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, ["exec", sandbox.Id, "--max-output", "18M", .. seventeenMiB]);

        Assert.Equal((250, 16 << 20), (cut.Code, cut.Stdout.Length));
        Assert.Contains("only the first 16.0 MiB", cut.Stderr);
        Assert.Equal((0, 17 << 20, ""), (raised.Code, raised.Stdout.Length, raised.Stderr));
    }

    private static string? Node => new[] { "/usr/bin/node", "/usr/local/bin/node" }.FirstOrDefault(File.Exists);

    /// <summary>Polls until the command that wrote /workspace/pid is gone, for up to 5 s.</summary>
    private static async Task WaitUntilGoneAsync(TestSandbox sandbox)
    {
        for (var i = 0; (await sandbox.ShAsync("kill -0 $(cat /workspace/pid) 2>/dev/null")).ExitCode == 0; i++)
        {
            Assert.True(i < 100, "the command still runs in the sandbox after hutch ended");
            await Task.Delay(50);
        }
    }

    /// <summary>hutch as a .NET harness starts it: every stream a pipe, stdin never written nor closed.</summary>
    private Task<(int Code, string Stdout, string Stderr)> RunHutchWithOpenStdinAsync(params string[] args) => RunAsync(TestPaths.Cli, args);

    /// <summary>Runs a program (a harness, or hutch itself) whose stdin is a pipe this test never closes, and collects its output.</summary>
    private async Task<(int Code, string Stdout, string Stderr)> RunAsync(string program, string[] args)
    {
        using var process = Start(program, args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(program)} {string.Join(' ', args)} still ran after {Patience.TotalSeconds} s");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// A program started in the background by a non-interactive shell (as a test run may be) has
    /// SIGINT ignored, and keeps it ignored across exec, as Unix wants; hutch is started the way a
    /// terminal starts it instead: SIGINT at its default, then exec.
    /// </summary>
    private const string WithDefaultSigint = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])";

    /// <summary>Starts `hutch ARGS -- a sleep that wrote its pid to /workspace/pid` and waits until it runs; hutch is killed if the test fails first.</summary>
    private async Task<Process> StartSleeperAsync(params string[] args)
    {
        var hutch = Start("python3", ["-c", WithDefaultSigint, TestPaths.Cli, .. args, "--", "sh", "-c", "echo $$ > /workspace/pid; echo started; exec sleep 600"]);
        try
        {
            Assert.Equal("started", await hutch.StandardOutput.ReadLineAsync().WaitAsync(Patience));
            return hutch;
        }
        catch
        {
            hutch.Kill();
            hutch.Dispose();
            throw;
        }
    }

    private Process Start(string program, string[] args) => CliProcess.Start(fixture, Path.GetTempPath(), args, program);
}
