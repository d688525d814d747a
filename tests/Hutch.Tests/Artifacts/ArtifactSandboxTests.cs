using System.Net;
using System.Security.Cryptography;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Artifacts;

/// <summary>Artifacts through the real daemon and runc: detection after a command, links a plain client opens, sessions that come back.</summary>
[Collection(DaemonCollection.Name)]
public sealed class ArtifactSandboxTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    /// <summary>A PNG (pure Python: zlib and struct) and a CSV, as an agent's analysis script would write them.</summary>
    private const string Plot = """
        import struct, zlib, os
        os.makedirs("out", exist_ok=True)
        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        rows = b"".join(b"\x00" + b"".join(bytes([x * 16, y * 16, 128]) for x in range(16)) for y in range(16))
        png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
        open("out/chart.png", "wb").write(png)
        open("out/table.csv", "w").write("x,y\n1,2\n3,4\n")
        open("notes.txt", "w").write("not an artifact\n")
        """;

    [Fact]
    public async Task APythonScriptsPngAndCsv_AreInItsExecResult_AndTheirLinksOpenWithoutTheKey()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        await Client.WriteTextAsync(sandbox.Id, "plot.py", Plot);

        var first = await Client.ExecAsync(sandbox.Id, new ExecRequest(Argv: ["python3", "plot.py"]));
        var again = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true"));
        var changed = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "echo 5,6 >> out/table.csv"));
        await Task.Delay(100);   // past the racy window: out/'s listing is now kept between looks
        var quiet = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true"));
        var added = await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "mkdir out/deeper && echo late > out/deeper/late.txt && echo 7,8 >> out/table.csv"));
        var png = await Client.ReadBytesAsync(sandbox.Id, "out/chart.png");
        using var anonymous = new HttpClient();
        var chart = first.Artifacts!.Single(a => a.Path == "out/chart.png");
        using var download = await anonymous.GetAsync(chart.Url);
        var listed = await Client.ListArtifactsAsync(sandbox.Id);

        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal(["out/chart.png", "out/table.csv"], first.Artifacts!.Select(a => a.Path).Order());
        Assert.All(first.Artifacts!, a => Assert.Equal(ArtifactStates.Stored, a.State));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(png)), chart.Sha256);
        Assert.Equal(png.Length, chart.Size);
        Assert.Null(again.Artifacts);
        Assert.Equal(["out/table.csv"], changed.Artifacts!.Select(a => a.Path));
        Assert.Null(quiet.Artifacts);
        Assert.Equal(["out/deeper/late.txt", "out/table.csv"], added.Artifacts!.Select(a => a.Path).Order());
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(png, await download.Content.ReadAsByteArrayAsync());
        Assert.StartsWith("attachment;", download.Content.Headers.ContentDisposition!.ToString());
        Assert.Equal(sandbox.Id, listed.Set);
        Assert.Equal(3, listed.Artifacts.Count);
    }

    [Fact]
    public async Task ASymlinkedArtifact_IsNeverFollowed_AndRecordingOneIsRefused()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));

        var result = await sandbox.ShAsync("mkdir -p out && ln -s /etc/shadow out/shadow.csv && ln -s /etc out/etc && echo ok > out/real.txt");
        var record = await Assert.ThrowsAsync<HutchApiException>(() => Client.RecordArtifactAsync(sandbox.Id, "out/shadow.csv"));
        var explicitOne = await Client.RecordArtifactAsync(sandbox.Id, "out/real.txt", "the report");

        Assert.Equal(["out/real.txt"], result.Artifacts!.Select(a => a.Path));
        Assert.Equal((400, ErrorCodes.ArtifactNotFile), (record.Status, record.Code));
        Assert.Equal("the report", explicitOne.Purpose);
    }

    [Fact]
    public async Task ASessionsFiles_ComeBackInItsNextSandbox_AndALiveSessionIsNeverOverwritten()
    {
        var session = "chat-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var spec = new ArtifactSpec(["out/**"], session);
        var first = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: spec));
        await first.ShAsync("mkdir -p out && echo draft-1 > out/report.md");
        var whileLive = await Assert.ThrowsAsync<HutchApiException>(() => fixture.CreateAsync(new CreateSandboxRequest(Artifacts: spec)));
        await first.DisposeAsync();

        await using var second = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: spec));
        var restored = await second.ShAsync("cat out/report.md");
        var untouched = await second.ShAsync("true");
        var set = await Client.GetArtifactSetAsync("session:" + session);

        Assert.Equal((409, ErrorCodes.SessionLive), (whileLive.Status, whileLive.Code));
        Assert.Equal("draft-1\n", restored.Stdout);
        Assert.Null(untouched.Artifacts);
        Assert.Equal(["out/report.md"], set.Artifacts.Select(a => a.Path));
    }

    [Fact]
    public async Task BadGlobs_AreRefusedAtCreate_AndAnAlteredLinkOpensNothing()
    {
        var bad = await Assert.ThrowsAsync<HutchApiException>(() => fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["../etc/**"]))));
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["*.txt"])));
        var kept = await sandbox.ShAsync("echo secret-a > a.txt");
        var url = kept.Artifacts!.Single().Url!;
        using var anonymous = new HttpClient();
        using var altered = await anonymous.GetAsync(url[..^3] + (url[^3] == 'A' ? "B" : "A") + url[^2..]);
        using var withoutLink = await anonymous.GetAsync(new Uri(new Uri(url), "/v1/sandboxes"));

        Assert.Equal((400, ErrorCodes.InvalidArtifactGlob), (bad.Status, bad.Code));
        Assert.Equal(HttpStatusCode.NotFound, altered.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, withoutLink.StatusCode);
    }

    [Fact]
    public async Task ASessionCommandsResult_ListsWhatItKept_AndABackgroundProcessesFiles_AreKeptWhenItEnds()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        await Client.CreateSessionAsync(sandbox.Id, new CreateSessionRequest(Name: "s"));

        var command = await Client.SessionExecAsync(sandbox.Id, "s", "mkdir -p out && echo from-session > out/session.txt");
        var process = await Client.StartProcessAsync(sandbox.Id, "sleep 1; echo from-background > out/background.txt");
        await Client.WaitProcessAsync(sandbox.Id, process.Id, TimeSpan.FromSeconds(30));
        ArtifactList listed;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            // The daemon looks when it sees the process's exit, a moment after the wait's answer.
            listed = await Client.ListArtifactsAsync(sandbox.Id);
        }
        while (listed.Artifacts.Count < 2 && waited.Elapsed < TimeSpan.FromSeconds(10) && await Task.Delay(100).ContinueWith(_ => true));

        Assert.Equal(["out/session.txt"], command.Artifacts!.Select(a => a.Path));
        Assert.Equal(["out/background.txt", "out/session.txt"], listed.Artifacts.Select(a => a.Path));
    }
}
