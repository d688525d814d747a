using System.Text.Json;
using Hutch.Daemon.Commands;
using Hutch.Daemon.Http;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Protocol;

/// <summary>
/// Exec and log events became closed hierarchies with bytes inside; the NDJSON on the wire must stay
/// byte for byte what clients read before. Each expected line was written by the old records
/// (type-as-string, data-as-base64) before they were replaced.
/// </summary>
[Trait("Category", "Unit")]
public sealed class StreamEventWireTests
{
    private static readonly ProcessInfo Ended = new("p-abc", "web", "exited", ["sh", "-c", "exit 3"], "/workspace", 7,
        DateTimeOffset.FromUnixTimeMilliseconds(1700000000000), EndedAt: DateTimeOffset.FromUnixTimeMilliseconds(1700000001000), ExitCode: 3, DurationMs: 1000, LogBytes: 20);

    public static TheoryData<string, string> ExecLines => new()
    {
        { "start", """{"type":"start","pid":42}""" },
        { "stdout", """{"type":"stdout","data":"aGkK"}""" },
        { "stderr", """{"type":"stderr","data":"AP8K"}""" },
        { "exit", """{"type":"exit","exitCode":3,"truncated":false,"timedOut":false,"oomKilled":false,"durationMs":12}""" },
        { "killed", """{"type":"exit","signal":"SIGKILL","truncated":true,"timedOut":true,"oomKilled":true,"durationMs":60000}""" },
        { "error", """{"type":"error","code":"sandbox_died","message":"The sandbox sb-x stopped."}""" },
    };

    public static TheoryData<string, string> LogLines => new()
    {
        { "stdout", """{"type":"stdout","cursor":17,"data":"aGkK"}""" },
        { "stderr", """{"type":"stderr","cursor":20,"data":"AP8="}""" },
        { "truncated", """{"type":"truncated","cursor":4096,"dropped":100}""" },
        { "exit", """{"type":"exit","cursor":20,"process":{"id":"p-abc","name":"web","state":"exited","argv":["sh","-c","exit 3"],"cwd":"/workspace","pid":7,"startedAt":"2023-11-14T22:13:20+00:00","endedAt":"2023-11-14T22:13:21+00:00","exitCode":3,"timedOut":false,"durationMs":1000,"logBytes":20}}""" },
    };

    /// <summary>The engine's event for each case, turned into the API's by the one edge helper.</summary>
    private static ExecEvent ExecEventOf(string name) => WireEvents.ToExecEvent(name switch
    {
        "start" => new CommandStarted(42),
        "stdout" => new CommandOutput(OutputStream.Stdout, "hi\n"u8.ToArray()),
        "stderr" => new CommandOutput(OutputStream.Stderr, new byte[] { 0, 255, 10 }),
        "exit" => new CommandExited(3, null, false, false, false, 12),
        "killed" => new CommandExited(null, "SIGKILL", true, true, true, 60000),
        _ => new CommandFailed(new Hutch.Daemon.HutchException(ErrorCodes.SandboxDied, "The sandbox sb-x stopped.")),
    });

    private static LogEvent LogEventOf(string name) => WireEvents.ToLogEvent(name switch
    {
        "stdout" => new LogEntry(new CommandOutput(OutputStream.Stdout, "hi\n"u8.ToArray()), 17),
        "stderr" => new LogEntry(new CommandOutput(OutputStream.Stderr, new byte[] { 0, 255 }), 20),
        "truncated" => new LogEntry(new OutputTruncated(100), 4096),
        _ => new LogEntry(new ProcessEnded(Ended), 20),
    });

    [Theory]
    [MemberData(nameof(ExecLines))]
    public void ExecEvents_AreWrittenAsBefore(string name, string line) =>
        Assert.Equal(line, JsonSerializer.Serialize(ExecEventOf(name), ApiJsonContext.Default.ExecEvent));

    [Theory]
    [MemberData(nameof(LogLines))]
    public void LogEvents_AreWrittenAsBefore(string name, string line) =>
        Assert.Equal(line, JsonSerializer.Serialize(LogEventOf(name), ApiJsonContext.Default.LogEvent));

    [Theory]
    [MemberData(nameof(ExecLines))]
    public void ExecLines_ReadBackToTheSameEvent(string name, string line)
    {
        var read = JsonSerializer.Deserialize(line, ApiJsonContext.Default.ExecEvent)!;

        Assert.Equal(ExecEventOf(name).GetType(), read.GetType());
        Assert.Equal(line, JsonSerializer.Serialize(read, ApiJsonContext.Default.ExecEvent));
    }

    [Theory]
    [MemberData(nameof(LogLines))]
    public void LogLines_ReadBackToTheSameEvent(string name, string line)
    {
        var read = JsonSerializer.Deserialize(line, ApiJsonContext.Default.LogEvent)!;

        Assert.Equal(LogEventOf(name).GetType(), read.GetType());
        Assert.Equal(line, JsonSerializer.Serialize(read, ApiJsonContext.Default.LogEvent));
    }

    [Fact]
    public void AnUnknownType_IsRefused() =>
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize("""{"type":"bogus"}""", ApiJsonContext.Default.ExecEvent));
}
