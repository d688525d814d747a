using System.Text;
using System.Text.Json;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Client;

/// <summary>
/// The exec codec (<see cref="ExecJson"/>) against the serializer it stands in for on the exec path:
/// the same request bytes, the same events from the same lines, a failure where it fails.
/// </summary>
[Trait("Category", "Unit")]
public class ExecJsonTests
{
    public static TheoryData<string, ExecRequest> Requests => new()
    {
        { "empty", new ExecRequest() },
        { "argv", new ExecRequest(Argv: ["true"]) },
        { "everything", new ExecRequest(["sh", "-c", "x"], "echo hi", "sub/dir", new() { ["A"] = "1", ["lowerCase"] = "v", ["EMPTY"] = "" }, "in", "aW4=", 5000, 65536, "base64", true) },
        { "kill false", new ExecRequest(Command: "x", KillOnDisconnect: false) },
        { "escapes", new ExecRequest(Argv: ["a\"b\\c", "tab\tnl\ncr\rff\fbs\b", "\0\u0001\u001f\u007f", "<>&'+`", "/slash"], Env: new() { ["K\"EY<"] = "v\\al" }) },
        { "unicode", new ExecRequest(Argv: ["héllo", "日本語", "emoji 😀", "\u2028\u2029", "\uFEFF", "\uFFFD"], Command: "echo ünïcödé") },
        { "extreme numbers", new ExecRequest(Command: "x", TimeoutMs: long.MaxValue, MaxOutputBytes: long.MinValue) },
        { "zero", new ExecRequest(Command: "x", TimeoutMs: 0, MaxOutputBytes: 0) },
        { "empty argv and env", new ExecRequest(Argv: [], Env: []) },
        { "big", new ExecRequest(Command: new string('x', 3 << 20) + "é", StdinBase64: Convert.ToBase64String(new byte[5 << 20])) },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void ARequest_IsWritten_ByteForByte_AsTheSerializerWritesIt(string name, ExecRequest request)
    {
        var expected = JsonSerializer.SerializeToUtf8Bytes(request, HutchClient.Json.ExecRequest);

        var written = ExecJson.Write(request);

        Assert.True(expected.AsSpan().SequenceEqual(written), $"{name}: {Encoding.UTF8.GetString(written[..Math.Min(written.Length, 300)])}");
    }

    [Fact]
    public void ARequestWithALoneSurrogate_FailsAsTheSerializerFails()
    {
        var request = new ExecRequest(Argv: ["bad \uD800 half"]);

        var expected = Record.Exception(() => JsonSerializer.SerializeToUtf8Bytes(request, HutchClient.Json.ExecRequest));
        var actual = Record.Exception(() => ExecJson.Write(request));

        Assert.Equal(expected?.GetType(), actual?.GetType());
    }

    [Fact]
    public void ARequestWithANullEnvValue_IsWrittenAsTheSerializerWritesIt()
    {
        var request = new ExecRequest(Command: "x", Env: new() { ["A"] = null! });

        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(request, HutchClient.Json.ExecRequest), ExecJson.Write(request));
    }

    public static TheoryData<string, ExecEvent> Events => new()
    {
        { "start", new ExecStartEvent(4242) },
        { "stdout", new ExecStdoutEvent("hello\n"u8.ToArray()) },
        { "stderr binary", new ExecStderrEvent(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray()) },
        { "stdout empty", new ExecStdoutEvent(ReadOnlyMemory<byte>.Empty) },
        { "stdout big", new ExecStdoutEvent(Enumerable.Range(0, 3 << 20).Select(i => (byte)(i * 7)).ToArray()) },
        { "exit", new ExecExitEvent(3, null, false, false, false, 12) },
        { "exit by signal", new ExecExitEvent(null, "SIGKILL", true, true, true, long.MaxValue) },
        { "exit killed", new ExecExitEvent(null, "SIGKILL", false, true, false, 1000, new ExecKilled("timeout", "SIGKILL", 17, 3)) },
        { "exit kept", new ExecExitEvent(0, null, true, false, false, 5, FullOutput: new ExecFullOutput("out-1", 1L << 40, 7, false, 99, "/v1/sandboxes/a/exec/outputs/out-1/stdout", "/e")) },
        { "exit with network refusals", new ExecExitEvent(6, null, false, false, false, 40, NetworkRefusals: [
            new NetworkEvent(120, DateTimeOffset.Parse("2026-12-03T21:40:11Z", System.Globalization.CultureInfo.InvariantCulture), "refused", "proxy", "tcp",
                "github.com", null, 443, "egress_denied_host", null, "github.com:443 refused: github.com is not in this sandbox's allowlist")]) },
        { "error", new ExecErrorEvent("sandbox_not_found", "No sandbox \"x\" — ünïcödé <b> & 😀") },
    };

    [Theory]
    [MemberData(nameof(Events))]
    public void AnEventTheSerializerWrote_IsReadAsTheSerializerReadsIt(string name, ExecEvent written)
    {
        var line = JsonSerializer.SerializeToUtf8Bytes(written, HutchClient.Json.ExecEvent);

        AssertSameEvent(name, JsonSerializer.Deserialize(line, HutchClient.Json.ExecEvent)!, ExecJson.ReadEvent(line));
    }

    public static TheoryData<string> OddLines => new()
    {
        """{"type":"start","pid":1,"unknown":{"deep":[1,{"x":null}],"s":"\n"},"more":[]}""",
        """{"type":"start"}""",
        """{"type":"start","PID":5}""",
        """{"type":"start","Pid":5,"pid":6}""",
        """{"type":"start","\u0070id":9}""",
        """  {  "type" : "stdout" , "data" : "aGk=" }  """,
        """{"type":"stdout","data":null}""",
        """{"type":"stdout","data":""}""",
        """{"type":"stdout"}""",
        """{"type":"start","TYPE":"x","pid":1}""",
        """{"type":"exit","exitCode":null,"signal":"SIGTERM","truncated":true,"timedOut":false,"oomKilled":true,"durationMs":0}""",
        """{"type":"exit","exitCode":-1,"durationMs":-5,"killed":null,"fullOutput":null}""",
        """{"type":"exit","EXITCODE":2,"killed":{"reason":"timeout","SIGNAL":"SIGKILL","processGroup":1,"processes":2,"new":true}}""",
        """{"type":"exit","fullOutput":{"id":"o","stdoutBytes":1,"stderrBytes":2,"complete":true,"droppedBytes":0,"stdout":"a","stderr":"b","extra":[1]}}""",
        """{"type":"exit","killed":{}}""",
        """{"type":"exit","exitCode":1,"networkRefusals":null}""",
        """{"type":"exit","exitCode":1,"NetworkRefusals":[{"cursor":1,"time":"2026-12-03T21:40:11Z","outcome":"refused","via":"dns","protocol":"dns","host":"x.test","port":53,"code":"egress_dns_denied","message":"m","extra":1}]}""",
        """{"type":"error","code":"internal","message":"line1\nline2 \u00e9 \ud83d\ude00"}""",
        """{"type":"error"}""",
        """{"type":"error","code":null,"message":"m"}""",
        """{"type":"start","pid":1} trailing words""",
        """{"type":"start","aVeryLongMemberNameThatIsLongerThanAnyOfOursAndThenSomeMoreToPassSixtyFourBytes\u0020":1,"pid":3}""",
    };

    [Theory]
    [MemberData(nameof(OddLines))]
    public void AnOddButValidLine_IsReadAsTheSerializerReadsIt(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var reader = new Utf8JsonReader(bytes);
        var expected = JsonSerializer.Deserialize(ref reader, HutchClient.Json.ExecEvent)!;

        AssertSameEvent(line, expected, ExecJson.ReadEvent(bytes));
    }

    public static TheoryData<string> BadLines => new()
    {
        "",
        "null",
        "[]",
        "\"start\"",
        """{"pid":1,"type":"start"}""",
        """{"type":"nope"}""",
        """{"type":1}""",
        """{"Type":"start"}""",
        """{"type":"start","pid":"1"}""",
        """{"type":"start","pid":1.5}""",
        """{"type":"start","pid":4294967296}""",
        """{"type":"start","pid":null}""",
        """{"type":"stdout","data":"not base64!"}""",
        """{"type":"stdout","data":5}""",
        """{"type":"exit","truncated":null}""",
        """{"type":"exit","truncated":"true"}""",
        """{"type":"exit","signal":5}""",
        """{"type":"exit","killed":[]}""",
        """{"type":"exit","killed":{"processes":"2"}}""",
        """{"type":"start","pid":1""",
        """{"type":"start",}""",
        """{"type":"stderr","data":"aGk=","type":"stdout"}""",
        """{"type":"exit","exitCode":1e2}""",
    };

    [Theory]
    [MemberData(nameof(BadLines))]
    public void ALineTheSerializerRefuses_IsRefusedWithAJsonException(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);

        Assert.ThrowsAny<Exception>(() =>
        {
            var reader = new Utf8JsonReader(bytes);
            return JsonSerializer.Deserialize(ref reader, HutchClient.Json.ExecEvent) ?? throw new JsonException("null");
        });
        Assert.ThrowsAny<JsonException>(() => ExecJson.ReadEvent(bytes));
    }

    [Fact]
    public void InvalidUtf8InAString_IsAJsonException()
    {
        byte[] line = [.. """{"type":"error","code":"x","message":"bad """u8, 0xC3, 0x28, .. "\"}"u8];

        Assert.ThrowsAny<JsonException>(() => ExecJson.ReadEvent(line));
    }

    /// <summary>Records holding bytes compare those by reference, so events are compared as the serializer writes them.</summary>
    private static void AssertSameEvent(string name, ExecEvent expected, ExecEvent actual)
    {
        Assert.Equal(expected.GetType(), actual.GetType());
        var expectedJson = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(expected, HutchClient.Json.ExecEvent));
        var actualJson = Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(actual, HutchClient.Json.ExecEvent));
        Assert.True(expectedJson == actualJson, $"{name}:\n{expectedJson[..Math.Min(300, expectedJson.Length)]}\n{actualJson[..Math.Min(300, actualJson.Length)]}");
    }
}
