using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>`hutch shell` as a user runs it: the published program, on a real terminal or with stdin piped.</summary>
[Collection(DaemonCollection.Name)]
public class ShellCliTests(DaemonFixture fixture)
{
    [Fact]
    public async Task OnATerminal_KeysGoRaw_CtrlCReachesTheSandbox_ResizesFollow_AndTheTerminalIsRestored()
    {
        await using var sandbox = await fixture.CreateAsync();
        using var terminal = TerminalDriver.Open(cols: 91, rows: 29);
        var before = await TerminalSettingsAsync(terminal, "before");

        var pid = terminal.Start(TestPaths.Cli, ["shell", sandbox.Id], Environment());
        terminal.Type("stty size\r");
        await terminal.WaitForAsync("29 91\r\n");
        terminal.Type("sleep 100\r");
        await sandbox.WaitForProgramAsync("sleep");
        terminal.Type("\u0003"); // Ctrl-C: a byte in raw mode, a SIGINT only inside the sandbox
        terminal.Type("echo status-$?\r");
        await terminal.WaitForAsync("status-130");
        terminal.Resize(120, 40);
        await WaitForSizeAsync(sandbox.Id, new TerminalSize(120, 40));
        terminal.Type("stty size\r");
        await terminal.WaitForAsync("40 120\r\n");
        terminal.Type("exit 5\r");
        var exit = await TerminalDriver.WaitForExitAsync(pid);
        var after = await TerminalSettingsAsync(terminal, "after");

        Assert.Equal(5, exit.ExitCode);
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task WithStdinPiped_TheInputIsTyped_AndItExitsWithTheShellsStatus()
    {
        await using var sandbox = await fixture.CreateAsync();

        var (code, stdout, _) = await HutchAsync("echo hi-$((6*7))\nexit 3\n", "shell", sandbox.Id);

        Assert.Equal(3, code);
        Assert.Contains("hi-42", stdout);
    }

    [Fact]
    public async Task WithStdinPiped_WhenItEnds_CtrlDEndsTheShell()
    {
        await using var sandbox = await fixture.CreateAsync();

        var (code, stdout, _) = await HutchAsync("echo last-line\n", "shell", sandbox.Id, "--", "/bin/sh");

        Assert.Equal(0, code);
        Assert.Contains("last-line", stdout);
    }

    [Fact]
    public async Task Attach_JoinsARunningShellByName_ReplaysIt_AndExitsWithItsStatus()
    {
        await using var sandbox = await fixture.CreateAsync();
        var shell = await fixture.Client.OpenShellAsync(sandbox.Id, new OpenShellRequest(Name: "work"));
        await fixture.Client.WriteShellInputAsync(sandbox.Id, shell.Id, "echo earlier-$((2*3))\r");

        var (code, stdout, _) = await HutchAsync("exit 7\n", "shell", sandbox.Id, "--attach", "work");

        Assert.Equal(7, code);
        Assert.Contains("earlier-6", stdout);
    }

    [Fact]
    public async Task Attach_WithACommand_IsAUsageError()
    {
        var (code, _, stderr) = await HutchAsync(null, "shell", "sb-x", "--attach", "work", "--", "ls");

        Assert.Equal(2, code);
        Assert.Contains("--attach", stderr);
    }

    /// <summary>This test's environment (the CLI needs the .NET runtime's), pointed at the fixture's daemon.</summary>
    private Dictionary<string, string> Environment()
    {
        var env = System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "");
        env["TERM"] = "xterm-256color";
        env["HUTCH_URL"] = fixture.Daemon.Url;
        env["HUTCH_API_KEY"] = fixture.ApiKey;
        return env;
    }

    /// <summary>The terminal's settings as `stty -g` prints them, from a program run on it.</summary>
    private static async Task<string> TerminalSettingsAsync(TerminalDriver terminal, string label)
    {
        var pid = terminal.Start("/bin/sh", ["-c", $"echo {label}:$(stty -g):end"], new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" });
        var seen = await terminal.WaitForAsync(":end");
        await TerminalDriver.WaitForExitAsync(pid);
        return seen[(seen.IndexOf(label + ":", StringComparison.Ordinal) + label.Length + 1)..^":end".Length];
    }

    /// <summary>Waits until the shell's terminal has the size (SIGWINCH here, a resize message, then the agent's ioctl).</summary>
    private async Task WaitForSizeAsync(string sandbox, TerminalSize expected)
    {
        for (var i = 0; i < 200; i++)
        {
            if ((await fixture.Client.ListShellsAsync(sandbox)).Single().Terminal == expected)
            {
                return;
            }
            await Task.Delay(20);
        }
        Assert.Fail($"the shell never got the size {expected}");
    }


    private async Task<(int Code, string Stdout, string Stderr)> HutchAsync(string? stdin, params string[] args)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(fixture, Path.GetTempPath(), stdin is null ? null : System.Text.Encoding.UTF8.GetBytes(stdin), args);
        return (code, System.Text.Encoding.UTF8.GetString(stdout), stderr);
    }
}
