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

        ExecPump.ReportEnd(console.Console, timedOut: true, oomKilled: true, truncated: false, durationMs: 2000);

        var lines = console.Error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("hutch: the command ran past its timeout (2.0 s) and was killed (timed_out)", lines[0]);
        Assert.StartsWith("hutch: the command was killed for running out of memory", lines[1]);
    }

    [Fact]
    public async Task Stdin_IsForwardedWhenRedirected_AndNotWhenTurnedOff()
    {
        var console = new TestConsole("input\n"u8.ToArray());

        Assert.Equal(Convert.ToBase64String("input\n"u8.ToArray()), await Stdin.ReadAsync(console.Console, forward: true, default));
        Assert.Null(await Stdin.ReadAsync(console.Console, forward: false, default));
        Assert.Null(await Stdin.ReadAsync(new TestConsole().Console, forward: true, default));
    }
}
