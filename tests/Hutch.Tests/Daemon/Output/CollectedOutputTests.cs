using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Hutch.Daemon.Commands;
using Hutch.Daemon.Http;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon.Output;

/// <summary>
/// A sync exec's output buffers and the JSON written from them: past a small memory budget the
/// output lives in an unlinked private file, and the streamed JSON is what serializing the whole
/// result as strings gives, byte for byte.
/// </summary>
[Trait("Category", "Unit")]
public sealed class CollectedOutputTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("hutch-out");
    private string Spill => Path.Join(_dir, "spill");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void PastItsMemoryBudget_AnOutputBufferSpillsToAPrivateUnlinkedFile_AndReadsBackWhole()
    {
        var bytes = RandomBytes(300_000);
        using var buffer = new OutputBuffer(() => Spill, memoryBudget: 1000);

        buffer.Write(bytes.AsSpan(0, 999));
        var spilledEarly = buffer.Spilled;
        buffer.Write(bytes.AsSpan(999));

        Assert.False(spilledEarly);
        Assert.True(buffer.Spilled);
        Assert.Equal(bytes, buffer.ToArray());
        Assert.All(buffer.Chunks(), c => Assert.True(c.Length <= OutputBuffer.ChunkSize));
        Assert.Empty(Directory.GetFileSystemEntries(Spill)); // unlinked while open: nothing to leave behind
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Spill));
        var fd = Directory.GetFiles("/proc/self/fd").Select(LinkTarget).Single(t => t?.StartsWith(Spill + "/", StringComparison.Ordinal) == true);
        Assert.EndsWith("(deleted)", fd);
    }

    [Fact]
    public void ASpillThatCannotBeWritten_DropsTheRest_KeepsWhatItHad_AndSaysLost()
    {
        File.WriteAllText(Path.Join(_dir, "file"), "not a directory");
        using var buffer = new OutputBuffer(() => Path.Join(_dir, "file", "spill"), memoryBudget: 10);

        buffer.Write("0123456789"u8);
        buffer.Write("more than the budget"u8);

        Assert.True(buffer.Lost);
        Assert.Equal("0123456789"u8.ToArray(), buffer.ToArray());
    }

    [Theory]
    [InlineData("utf8", 1 << 20)]
    [InlineData("utf8", 7)]
    [InlineData("base64", 1 << 20)]
    [InlineData("base64", 7)]
    public async Task TheStreamedResult_IsByteForByteWhatSerializingTheStrings_Gives(string encoding, int memoryBudget)
    {
        // Multi-byte characters and invalid bytes across every chunk boundary, quotes, escapes, controls.
        var text = new StringBuilder();
        for (var i = 0; text.Length < 200_000; i++)
        {
            text.Append(CultureInfo(i)).Append("é😀\"\\\n\t<&>\u0001ß");
        }
        var stdout = Encoding.UTF8.GetBytes(text.ToString()).Concat(new byte[] { 0xff, 0xc3 }).ToArray();
        stdout[OutputBuffer.ChunkSize - 1] = 0xe2; // a broken sequence right at a chunk's end
        var stderr = "err\n"u8.ToArray();
        using var collected = new CollectedExec(null, "SIGKILL", Buffer(stdout, memoryBudget), Buffer(stderr, memoryBudget), encoding, true, true, true, 42,
            new ExecKilled(ExecKillReasons.Timeout, "SIGKILL", 7, 3),
            new ExecFullOutput("out-abcdefghijkl", 1 << 30, 4, false, 99, "/v1/sandboxes/sb-x/exec/outputs/out-abcdefghijkl/stdout", "…/stderr"),
            Encoding.UTF8.GetBytes("tail é\n").Concat(new byte[] { 0xff }).ToArray(), []);
        var options = HttpOptions();

        var expected = JsonSerializer.SerializeToUtf8Bytes(WireEvents.ToResult(collected), options);
        var written = new MemoryStream();
        var pipe = PipeWriter.Create(written);
        await ExecResultJson.WriteAsync(pipe, collected, options, CancellationToken.None);
        await pipe.CompleteAsync();

        Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(written.ToArray()));
    }

    [Theory]
    [InlineData(false, 1 << 20)]
    [InlineData(true, 7)]
    public async Task AStreamedLogWindow_IsByteForByteWhatSerializingProcessLogsAndShellOutput_Gives(bool base64, int memoryBudget)
    {
        var stdout = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("é😀\"<>\u0001", 20_000)));
        var process = new ProcessInfo("p-1", "web", ProcessStates.Exited, ["sh", "-c", "x"], "/workspace", 7,
            DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddSeconds(3), 0, null, false, 3000, 99, null, null);
        using var window = new LogWindow(Buffer(stdout, memoryBudget), Buffer("err\n"u8.ToArray(), memoryBudget), 1234, 56, process);
        var options = HttpOptions();
        string Text(OutputBuffer b) => base64 ? Convert.ToBase64String(b.ToArray()) : Encoding.UTF8.GetString(b.ToArray());
        var encoding = base64 ? "base64" : "utf8";

        var logs = await WrittenAsync(pipe => LogWindowJson.WriteProcessLogsAsync(pipe, window, base64, options, CancellationToken.None));
        var shell = await WrittenAsync(pipe => LogWindowJson.WriteShellOutputAsync(pipe, window, base64, options, CancellationToken.None));

        Assert.Equal(JsonSerializer.Serialize(new ProcessLogs(Text(window.Stdout), Text(window.Stderr), encoding, 1234, 56, window.More, process), options), logs);
        Assert.Equal(JsonSerializer.Serialize(new ShellOutput(Text(window.Stdout), encoding, 1234, 56, window.More, process), options), shell);
    }

    private static async Task<string> WrittenAsync(Func<PipeWriter, Task> write)
    {
        var written = new MemoryStream();
        var pipe = PipeWriter.Create(written);
        await write(pipe);
        await pipe.CompleteAsync();
        return Encoding.UTF8.GetString(written.ToArray());
    }

    private OutputBuffer Buffer(byte[] bytes, int memoryBudget)
    {
        var buffer = new OutputBuffer(() => Spill, memoryBudget);
        for (var at = 0; at < bytes.Length; at += 5000)
        {
            buffer.Write(bytes.AsSpan(at, Math.Min(5000, bytes.Length - at)));
        }
        return buffer;
    }

    /// <summary>The options the daemon's endpoints serialize with (ASP.NET's web defaults, the API's context first).</summary>
    private static JsonSerializerOptions HttpOptions()
    {
        var options = new Microsoft.AspNetCore.Http.Json.JsonOptions().SerializerOptions;
        options.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
        return options;
    }

    /// <summary>Where a descriptor of this process points; null when another test closed it meanwhile.</summary>
    private static string? LinkTarget(string fd)
    {
        try
        {
            return new FileInfo(fd).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string CultureInfo(int i) => i.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static byte[] RandomBytes(int n)
    {
        var bytes = new byte[n];
        new Random(7).NextBytes(bytes);
        return bytes;
    }
}
