using Hutch.Cli;
using Hutch.Cli.Exec;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Cli;

[Trait("Category", "Unit")]
public class ExecPumpTests
{
    private static async IAsyncEnumerable<ExecEvent> Events(params ExecEvent[] events)
    {
        foreach (var e in events)
        {
            await Task.Yield();
            yield return e;
        }
    }

    [Fact]
    public async Task Output_IsWrittenAsBytes_ToTheRightStream()
    {
        byte[] binary = [0, 0xff, 0xfe, (byte)'\n', 0x80];
        var stdout = new MemoryStream();
        var stderr = new MemoryStream();

        var exit = await ExecPump.RunAsync(Events(
            new ExecStartEvent(9),
            new ExecStdoutEvent(binary),
            new ExecStderrEvent("warn"u8.ToArray()),
            new ExecStdoutEvent("more"u8.ToArray()),
            new ExecExitEvent(5, null, false, false, false, 0)), stdout, stderr, default);

        Assert.Equal(5, exit.ExitCode);
        Assert.Equal([.. binary, .. "more"u8.ToArray()], stdout.ToArray());
        Assert.Equal("warn"u8.ToArray(), stderr.ToArray());
    }

    [Fact]
    public async Task AnErrorEvent_FailsWithItsCode()
    {
        var e = await Assert.ThrowsAsync<CliException>(() => ExecPump.RunAsync(Events(
            new ExecStartEvent(1),
            new ExecErrorEvent(ErrorCodes.SandboxDied, "gone")), Stream.Null, Stream.Null, default));

        Assert.Equal(ErrorCodes.SandboxDied, e.Code);
        Assert.Equal("gone", e.Message);
    }

    [Fact]
    public async Task AStreamWithoutExit_Fails()
    {
        var e = await Assert.ThrowsAsync<CliException>(() => ExecPump.RunAsync(Events(new ExecStartEvent(1)), Stream.Null, Stream.Null, default));

        Assert.Equal("stream_interrupted", e.Code);
    }

    [Fact]
    public void TimeoutsAndOom_AreReportedOnStderr()
    {
        var console = new TestConsole();

        var status = new ExecEnd(null, "SIGKILL", TimedOut: true, OomKilled: true, Truncated: false, DurationMs: 2000).Finish(console.Console, OutputCap.Default);

        var lines = console.Error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(124, status);
        Assert.Equal("hutch: the command ran past its timeout (2.0 s) and was killed (timed_out)", lines[0]);
        Assert.StartsWith("hutch: the command was killed for running out of memory", lines[1]);
    }

    [Fact]
    public void TruncatedOutput_ExitsWithItsOwnStatus_AndSaysTheCommandsOnStderr()
    {
        var console = new TestConsole();

        var status = new ExecEnd(0, null, false, false, Truncated: true, DurationMs: 5).Finish(console.Console, new OutputCap(1 << 20, AllowTruncation: false));

        Assert.Equal(ExitCodes.OutputTruncated, status);
        Assert.Equal("hutch: output truncated: only the first 1.0 MiB of stdout and stderr were printed; the command exited with 0; "
            + "exit status 250 instead of the command's; raise the cap with --max-output (up to 1.0 GiB) (output_truncated)", console.Error.ToString().TrimEnd());
    }

    [Fact]
    public void TruncatedOutput_WhenAllowed_ExitsWithTheCommandsStatus_AndStillSaysSo()
    {
        var console = new TestConsole();

        var status = new ExecEnd(3, null, false, false, Truncated: true, DurationMs: 5).Finish(console.Console, new OutputCap(null, AllowTruncation: true));

        Assert.Equal(3, status);
        Assert.StartsWith("hutch: output truncated: only the first 16.0 MiB", console.Error.ToString());
    }

    [Fact]
    public async Task Stdin_FromAFile_IsForwarded_UnlessTurnedOff()
    {
        var console = new TestConsole("input\n"u8.ToArray());

        Assert.Equal(Convert.ToBase64String("input\n"u8.ToArray()), await Stdin.ReadAsync(console.Console, StdinMode.Auto, default));
        Assert.Null(await Stdin.ReadAsync(console.Console, StdinMode.Never, default));
    }

    [Fact]
    public async Task Stdin_FromAPipe_IsReadOnlyWithDashI_AndOtherwiseGetsANote()
    {
        var console = new TestConsole("input\n"u8.ToArray(), stdinIsPipe: true);

        Assert.Null(await Stdin.ReadAsync(console.Console, StdinMode.Auto, default));
        Stdin.ReportUnread(console.Console, StdinMode.Auto);
        Assert.Equal(Convert.ToBase64String("input\n"u8.ToArray()), await Stdin.ReadAsync(console.Console, StdinMode.Forward, default));
        Assert.Contains("pass -i to give it to the command", console.Error.ToString());
    }

    [Fact]
    public void Stdin_APipeWithNothingToTell_GetsNoNote()
    {
        var console = new TestConsole([], stdinIsPipe: true, tellUnread: false);

        Stdin.ReportUnread(console.Console, StdinMode.Auto);

        Assert.Empty(console.Error.ToString());
    }

    [Fact]
    public async Task Stdin_Over16MiB_IsRefused_RatherThanCutInTheSandbox()
    {
        var fits = new TestConsole(new byte[Stdin.MostBytes], stdinIsPipe: true);
        var over = new TestConsole(new byte[Stdin.MostBytes + 1], stdinIsPipe: true);

        Assert.Equal(Stdin.MostBytes, Convert.FromBase64String((await Stdin.ReadAsync(fits.Console, StdinMode.Forward, default))!).Length);
        var e = await Assert.ThrowsAsync<CliException>(() => Stdin.ReadAsync(over.Console, StdinMode.Forward, default));
        Assert.Equal("stdin_too_large", e.Code);
    }

    [Fact]
    public async Task Stdin_ATerminal_IsNeverRead_AndDashIOnItIsAUsageError()
    {
        var console = new TestConsole();

        Assert.Null(await Stdin.ReadAsync(console.Console, StdinMode.Auto, default));
        var e = await Assert.ThrowsAsync<CliException>(() => Stdin.ReadAsync(console.Console, StdinMode.Forward, default));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
    }
}
