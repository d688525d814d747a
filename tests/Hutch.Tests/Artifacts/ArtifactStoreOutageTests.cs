using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Amazon.S3;
using Hutch.Artifacts;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Artifacts;

/// <summary>
/// An S3 store that goes away (s3rver killed) and comes back, under a daemon of its own process:
/// commands still answer, their files wait pending in the daemon's spool, and the retry stores them
/// once the store is back, whether their sandbox is gone or the daemon was killed meanwhile.
/// </summary>
public sealed class ArtifactStoreOutageTests
{
    // One line per number: a CSV whose bytes the test knows without asking the sandbox.
    private const string WriteCsv = "mkdir -p out && seq 1 40000 > out/x.csv";
    private static readonly byte[] Csv = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(1, 40000).Select(i => $"{i}\n")));

    [Fact]
    public async Task AnExecWhileTheStoreIsDown_Answers_WithItsFilePending_AndTheFileIsStoredOnceTheStoreIsBack_ThoughItsSandboxIsGone()
    {
        await using var s3 = new S3Server();
        await s3.InitializeAsync();
        await using var daemon = await KillableDaemon.StartAsync("hutch-ao", Environment(s3, "gone/"));
        var sandbox = await daemon.Client.CreateSandboxAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));

        await s3.StopAsync();
        var result = await daemon.Client.ExecAsync(sandbox.Id, new ExecRequest(Command: WriteCsv));
        var whileDown = await daemon.Client.GetArtifactSetAsync(sandbox.Id);
        await daemon.Client.DeleteSandboxAsync(sandbox.Id);   // the workspace goes: only the spool holds the file now
        await s3.StartAsync();
        var manifest = await StoredAsync(daemon, s3, "gone/", sandbox.Id, "out/x.csv");
        var kept = await daemon.Client.GetArtifactSetAsync(sandbox.Id);
        using var content = new MemoryStream();
        await (await daemon.Client.OpenArtifactAsync(sandbox.Id, "out/x.csv")).CopyToAsync(content);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var pending = Assert.Single(result.Artifacts!);
        Assert.Equal(("out/x.csv", ArtifactStates.Pending, (long)Csv.Length, null, null), (pending.Path, pending.State, pending.Size, pending.Sha256, pending.Url));
        Assert.Equal(ArtifactStates.Pending, Assert.Single(whileDown.Artifacts).State);
        var entry = Assert.Single(manifest.Entries);
        Assert.Equal(("out/x.csv", Convert.ToHexStringLower(SHA256.HashData(Csv))), (entry.Path, entry.Sha256));
        Assert.Equal((ArtifactStates.Stored, entry.Sha256), (Assert.Single(kept.Artifacts).State, kept.Artifacts[0].Sha256));
        Assert.Equal(Csv, content.ToArray());
        Assert.Empty(SpooledBlobs(daemon));
    }

    [Fact]
    public async Task APendingFile_OutlivesADaemonKilledWith9WhileTheStoreIsDown_AndIsStoredWhenTheStoreIsBack()
    {
        await using var s3 = new S3Server();
        await s3.InitializeAsync();
        await using var daemon = await KillableDaemon.StartAsync("hutch-ar", Environment(s3, "restart/"));
        var sandbox = await daemon.Client.CreateSandboxAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));

        await s3.StopAsync();
        var result = await daemon.Client.ExecAsync(sandbox.Id, new ExecRequest(Command: WriteCsv));
        daemon.Kill();
        await daemon.RestartAsync();   // the store is still down: the daemon starts all the same
        var afterRestart = await daemon.Client.GetArtifactSetAsync(sandbox.Id);
        await s3.StartAsync();
        var manifest = await StoredAsync(daemon, s3, "restart/", sandbox.Id, "out/x.csv");
        using var content = new MemoryStream();
        await (await daemon.Client.OpenArtifactAsync(sandbox.Id, "out/x.csv")).CopyToAsync(content);
        var quiet = await daemon.Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true"));

        Assert.Equal(ArtifactStates.Pending, Assert.Single(result.Artifacts!).State);
        Assert.Equal(ArtifactStates.Pending, Assert.Single(afterRestart.Artifacts).State);
        Assert.Equal("out/x.csv", Assert.Single(manifest.Entries).Path);
        Assert.Equal(Csv, content.ToArray());
        Assert.Null(quiet.Artifacts);   // stored from the spool with the workspace file's stat: not read again
        Assert.Empty(SpooledBlobs(daemon));
    }

    [Fact]
    public async Task PendingFilesNeverStayPending_WhenTheirContentIsGone_OneThatKeptChangingInADeletedSandbox_OrOneTheSandboxRemoved()
    {
        await using var s3 = new S3Server();
        await s3.InitializeAsync();
        await using var daemon = await KillableDaemon.StartAsync("hutch-ap", Environment(s3, "drop/"));
        var growing = await daemon.Client.CreateSandboxAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        var removing = await daemon.Client.CreateSandboxAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));

        await s3.StopAsync();
        // A file appended to without a pause: most likely it cannot be spooled whole (it changes while
        // read) and only its workspace has it. Whichever way the spool went, once the store is back
        // no file may stay pending: stored if its content was kept, forgotten if it is gone.
        await daemon.Client.ExecAsync(growing.Id, new ExecRequest(Command: "mkdir out; (while :; do echo x >> out/grow.log; done) >/dev/null 2>&1 & sleep 0.3"));
        await daemon.Client.ExecAsync(removing.Id, new ExecRequest(Command: "mkdir out; (while :; do echo x >> out/tmp.log; done) >/dev/null 2>&1 & echo $! > /tmp/loop.pid; sleep 0.3"));
        await daemon.Client.DeleteSandboxAsync(growing.Id);
        await daemon.Client.ExecAsync(removing.Id, new ExecRequest(Command: "kill $(cat /tmp/loop.pid) 2>/dev/null; rm -f out/tmp.log"));
        await s3.StartAsync();
        var waited = Stopwatch.StartNew();
        List<ArtifactInfo> left;
        while ((left = (await daemon.Client.GetArtifactSetAsync(growing.Id)).Artifacts.Concat((await daemon.Client.GetArtifactSetAsync(removing.Id)).Artifacts)
            .Where(a => a.State == ArtifactStates.Pending).ToList()).Count > 0)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), $"still pending after 60 s: {string.Join(", ", left.Select(a => a.Path))}\n{daemon.Log}");
            await Task.Delay(200);
        }

        Assert.Empty(SpooledBlobs(daemon));
    }

    private static Dictionary<string, string> Environment(S3Server s3, string prefix) => new()
    {
        ["HUTCH_ARTIFACT_S3_BUCKET"] = S3Server.Bucket,
        ["HUTCH_ARTIFACT_S3_ENDPOINT"] = s3.Endpoint,
        ["HUTCH_ARTIFACT_S3_PREFIX"] = prefix,
        ["AWS_ACCESS_KEY_ID"] = S3Server.AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = S3Server.SecretKey,
        ["HUTCH_ARTIFACT_RETRY_SECONDS"] = "1",
    };

    /// <summary>
    /// Waits (60 s at most: the retry's backoff tops at 6 s here) until the set's manifest in the
    /// bucket, verified with the daemon's key, names <paramref name="path"/> and the spool is empty.
    /// </summary>
    private static async Task<ArtifactManifest> StoredAsync(KillableDaemon daemon, S3Server s3, string prefix, string set, string path)
    {
        var key = await File.ReadAllBytesAsync(Path.Join(daemon.DataDir, "artifacts.key"));
        using var raw = new AmazonS3Client(S3Server.AccessKey, S3Server.SecretKey, new AmazonS3Config { ServiceURL = s3.Endpoint, ForcePathStyle = true });
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await raw.GetObjectAsync(S3Server.Bucket, $"{prefix}sets/{set}/manifest.json");
                using var bytes = new MemoryStream();
                await response.ResponseStream.CopyToAsync(bytes);
                var manifest = ArtifactManifest.FromSignedJson(bytes.ToArray(), set, key);
                if (manifest.Entries.Any(e => e.Path == path) && SpooledBlobs(daemon).Count == 0)
                {
                    return manifest;
                }
            }
            catch (AmazonS3Exception e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // No manifest yet.
            }
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), $"the retry did not store {path} within 60 s:\n{daemon.Log}");
            await Task.Delay(200);
        }
    }

    private static List<string> SpooledBlobs(KillableDaemon daemon)
    {
        var blobs = Path.Join(daemon.DataDir, "artifacts-pending", "blobs");
        return Directory.Exists(blobs) ? [.. Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories)] : [];
    }
}
