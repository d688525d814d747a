using System.Security.Cryptography;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// "No limit silently loses output": a result cut at maxOutputBytes says so, holds the head and the
/// tail, and names where all of the output is kept, readable afterwards from any offset.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class KeptOutputTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    private static string Seq(int n) => string.Concat(Enumerable.Range(1, n).Select(i => i + "\n"));

    private async Task<byte[]> ReadAsync(string sandbox, string output, string stream, long offset = 0, long? limit = null)
    {
        await using var content = await Client.ReadExecOutputAsync(sandbox, output, stream, offset, limit);
        var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task ATruncatedResult_HasHeadAndTail_AndAllOfItIsReadableAfterwards()
    {
        await using var sandbox = await fixture.CreateAsync();
        var expected = Seq(20_000);

        var result = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "seq 20000; echo oops >&2", MaxOutputBytes: 1000));

        Assert.True(result.Truncated);
        Assert.Equal(expected[..1000], result.Stdout);
        var full = Assert.IsType<ExecFullOutput>(result.FullOutput);
        Assert.Equal((expected.Length, 5L, true, 0L), (full.StdoutBytes, full.StderrBytes, full.Complete, full.DroppedBytes));
        Assert.Equal($"/v1/sandboxes/{sandbox.Id}/exec/outputs/{full.Id}/stdout", full.Stdout);
        Assert.Equal(expected[^(64 << 10)..], result.StdoutTail);
        Assert.Equal("oops\n", result.StderrTail);
        Assert.Equal(expected, Encoding.UTF8.GetString(await ReadAsync(sandbox.Id, full.Id, "stdout")));
        Assert.Equal("oops\n", Encoding.UTF8.GetString(await ReadAsync(sandbox.Id, full.Id, "stderr")));
        Assert.Equal(expected.Substring(1000, 10), Encoding.UTF8.GetString(await ReadAsync(sandbox.Id, full.Id, "stdout", 1000, 10)));
    }

    [Fact]
    public async Task AStreamCutAtItsCap_NamesTheKeptOutputInItsExitEvent_Even17MiB()
    {
        await using var sandbox = await fixture.CreateAsync();
        const long Size = 17L << 20;

        long streamed = 0;
        ExecExitEvent? exit = null;
        await foreach (var e in Client.ExecStreamAsync(sandbox.Id, new ExecRequest(Command: $"head -c {Size} /dev/urandom | tee /tmp/out | wc -c >&2; sha256sum < /tmp/out >&2")))
        {
            streamed += e is ExecStdoutEvent o ? o.Data.Length : 0;
            exit = e as ExecExitEvent ?? exit;
        }

        Assert.NotNull(exit);
        Assert.Equal(0, streamed); // the bytes went to wc: the cap is on what the command printed
        Assert.False(exit.Truncated);
        Assert.Null(exit.FullOutput);

        exit = null;
        streamed = 0;
        await foreach (var e in Client.ExecStreamAsync(sandbox.Id, new ExecRequest(Command: "cat /tmp/out")))
        {
            streamed += e is ExecStdoutEvent o ? o.Data.Length : 0;
            exit = e as ExecExitEvent ?? exit;
        }
        var sum = (await sandbox.ShAsync("sha256sum < /tmp/out | cut -d' ' -f1")).Stdout.Trim();

        Assert.Equal(16L << 20, streamed);
        Assert.True(exit!.Truncated);
        var full = Assert.IsType<ExecFullOutput>(exit.FullOutput);
        Assert.Equal((Size, true), (full.StdoutBytes, full.Complete));
        var all = await ReadAsync(sandbox.Id, full.Id, "stdout");
        Assert.Equal(Size, all.Length);
        Assert.Equal(sum, Convert.ToHexStringLower(SHA256.HashData(all)));
    }

    [Fact]
    public async Task AnUntruncatedCommand_KeepsNothing_AndOnlyTheLast8AreKept()
    {
        await using var sandbox = await fixture.CreateAsync();
        var outputs = Path.Join(fixture.DataDir, "workspaces", sandbox.Id, "outputs");

        var plain = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "head -c 3000000 /dev/zero"));
        Assert.False(plain.Truncated);
        Assert.Null(plain.FullOutput);
        Assert.Null(plain.StdoutTail);
        Assert.Empty(Directory.Exists(outputs) ? Directory.GetFileSystemEntries(outputs) : []);

        var ids = new List<string>();
        for (var i = 0; i < 9; i++)
        {
            var cut = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: $"echo run {i}; seq 1000", MaxOutputBytes: 10));
            ids.Add(cut.FullOutput!.Id);
        }

        var gone = await Assert.ThrowsAsync<HutchApiException>(() => ReadAsync(sandbox.Id, ids[0], "stdout"));
        Assert.Equal((404, ErrorCodes.OutputNotFound), (gone.Status, gone.Code));
        Assert.StartsWith("run 8\n", Encoding.UTF8.GetString(await ReadAsync(sandbox.Id, ids[^1], "stdout")));
        Assert.Equal(8, Directory.GetDirectories(outputs).Length);
        var bad = await Assert.ThrowsAsync<HutchApiException>(() => ReadAsync(sandbox.Id, "../../etc", "stdout"));
        Assert.Equal(404, bad.Status);
    }
}
