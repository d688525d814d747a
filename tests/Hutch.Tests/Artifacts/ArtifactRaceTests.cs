using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hutch.Tests.Artifacts;

/// <summary>
/// The manifest rules against a process inside the sandbox that races the daemon (issue #15): while
/// commands end and their files are detected and kept, a background process swaps the globs' roots,
/// the matching files and the directories between them for symlinks to the sandbox's /etc and /, for
/// directories, FIFOs and back, and renames them. Every byte it writes is a marker; whatever the
/// timing, everything the store keeps must be one of those markers (never a file the links point to),
/// every command's result comes back, and a record is either the marker or 400 artifact_not_file.
/// Cleanup of a set is refused while its sandbox runs, and afterwards removes exactly what was recorded.
/// </summary>
/// <remarks>
/// Each attack runs for a number of detections, or a time budget when the machine is slow; what is
/// asserted holds for every interleaving, so a run that hit the window fewer times is weaker, never
/// red. The counts are written to the test output.
/// </remarks>
[Collection(DaemonCollection.Name)]
public sealed partial class ArtifactRaceTests(DaemonFixture fixture, ITestOutputHelper output)
{
    private const int Detections = 300;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(12);

    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task AGlobRootSwappedForLinksToEtcAndRoot_WhileCommandsEnd_KeepsOnlyTheRacersMarkers()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**", "**/passwd"])));
        // `out` is a directory holding passwd and shadow (markers), a link to /etc (the sandbox's passwd)
        // or to /, and a directory renamed into place, in turn, as fast as the shell goes.
        var racer = await StartRacerAsync(sandbox, """
            mkdir -p spare && printf 'marker-spare\n' > spare/passwd
            i=0
            while [ ! -e stop ]; do
              i=$((i+1))
              rm -rf out
              mkdir out && printf 'marker-%d\n' $i > out/passwd && printf 'marker-%d\n' $i > out/shadow
              rm -rf out && ln -s /etc out
              rm out && ln -s / out
              rm out && mv spare out
              mv out spare
              mkdir out && ln -s /etc/passwd out/passwd && mkdir out/sub && printf 'marker-%d\n' $i > out/sub/passwd
              mv out/sub out/gone && ln -s /etc out/sub
            done
            """);

        var (results, kept) = await DetectWhileRacingAsync(sandbox);
        await StopRacerAsync(sandbox, racer);
        var after = await sandbox.ShAsync("rm -rf out && mkdir out && printf 'marker-after\\n' > out/passwd");
        var listed = await Client.ListArtifactsAsync(sandbox.Id);

        output.WriteLine($"{results} detections while racing, {kept.Count} files kept by them");
        Assert.All(kept.Concat(listed.Artifacts), AssertMarker);
        Assert.Equal(["out/passwd"], after.Artifacts!.Select(a => a.Path));
        AssertMarker(after.Artifacts!.Single());
    }

    [Fact]
    public async Task MatchingFilesSwappedForLinksDirectoriesAndFifos_AndRenamedDirectories_WhileCommandsEndAndRecords_KeepOnlyMarkers()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        // out/a.csv: a marker renamed into place, a link to /etc/shadow renamed over it, a link to
        // /etc/passwd, a directory, a FIFO; out/d: a directory with a marker, renamed away and replaced
        // by a link to /, then removed while the scanner may be reading it.
        var racer = await StartRacerAsync(sandbox, """
            mkdir -p out
            i=0
            while [ ! -e stop ]; do
              i=$((i+1))
              printf 'marker-%d\n' $i > out/a.tmp && mv -f out/a.tmp out/a.csv
              ln -s /etc/shadow out/l.tmp && mv -f out/l.tmp out/a.csv
              ln -sfn /etc/passwd out/a.csv
              rm -f out/a.csv && mkdir out/a.csv && rmdir out/a.csv
              mkfifo out/a.csv && rm out/a.csv
              mkdir -p out/d && printf 'marker-%d\n' $i > out/d/x.csv
              mv out/d out/e && ln -s / out/d
              rm out/d && mv out/e out/d
              rm -rf out/d
            done
            """);

        var records = RecordWhileRacingAsync(sandbox, ["out/a.csv", "out/d/x.csv"]);
        var (results, kept) = await DetectWhileRacingAsync(sandbox);
        var (stored, refused) = await records;
        await StopRacerAsync(sandbox, racer);
        // A hard link cannot reach outside the workspace (another mount), and one inside is its own content.
        var hardLinks = await sandbox.ShAsync("ln /etc/passwd out/h.csv 2>/dev/null && echo linked-outside; printf 'marker-linked\\n' > out/a.csv && ln out/a.csv out/h.csv");
        var listed = await Client.ListArtifactsAsync(sandbox.Id);

        output.WriteLine($"{results} detections while racing, {kept.Count} files kept by them; records: {stored.Count} stored, {refused} refused");
        Assert.All(kept.Concat(stored).Concat(listed.Artifacts), AssertMarker);
        Assert.Equal("", hardLinks.Stdout);
        Assert.Equal(["out/a.csv", "out/h.csv"], hardLinks.Artifacts!.Select(a => a.Path).Order());
        Assert.All(hardLinks.Artifacts!, a => Assert.Equal(Sha256("marker-linked\n"), a.Sha256));
    }

    [Fact]
    public async Task ASetsCleanup_IsRefusedWhileItsSandboxRaces_ThenDeletesExactlyWhatWasRecorded_AndNothingOfAnotherSet()
    {
        await using var other = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        var otherKept = await other.ShAsync("mkdir -p out/deep && printf 'marker-shared\\n' > out/shared.csv && printf 'marker-other\\n' > out/deep/other.csv");
        var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        await sandbox.ShAsync("mkdir -p out/deep && printf 'marker-shared\\n' > out/shared.csv && echo unrecorded > notes.txt");
        var racer = await StartRacerAsync(sandbox, """
            i=0
            while [ ! -e stop ]; do
              i=$((i+1))
              mkdir -p out/r$((i % 7)) && printf 'marker-%d\n' $i > out/r$((i % 7))/f$((i % 13)).csv
              mv out/deep out/moved && ln -s / out/deep && rm out/deep && mv out/moved out/deep
              printf 'marker-%d\n' $i > out/deep/f.csv
            done
            """);
        var refusals = new List<HutchApiException>();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < 20 && watch.Elapsed < Budget / 2; i++)
        {
            var exec = await sandbox.ShAsync("true");
            Assert.Equal(0, exec.ExitCode);
            refusals.Add(await Assert.ThrowsAsync<HutchApiException>(() => Client.DeleteArtifactSetAsync(sandbox.Id)));
        }
        var storeBefore = StoreFiles(except: sandbox.Id);
        await sandbox.DisposeAsync();   // the racer goes with it
        var recorded = await Client.GetArtifactSetAsync(sandbox.Id);
        var setDir = Path.Join(fixture.Options.ArtifactDir, "sets", sandbox.Id);
        var onDisk = Directory.EnumerateFiles(Path.Join(setDir, "files"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Path.Join(setDir, "files"), f)).Order(StringComparer.Ordinal).ToList();

        var cleanup = await Client.DeleteArtifactSetAsync(sandbox.Id);
        var gone = await Assert.ThrowsAsync<HutchApiException>(() => Client.GetArtifactSetAsync(sandbox.Id));
        var storeAfter = StoreFiles(except: sandbox.Id);
        await using var otherFile = await Client.OpenArtifactAsync(other.Id, "out/deep/other.csv");
        using var reader = new StreamReader(otherFile);

        output.WriteLine($"{refusals.Count} refused cleanups while racing; {recorded.Artifacts.Count} recorded files deleted");
        Assert.All(refusals, e => Assert.Equal((409, ErrorCodes.SessionLive), (e.Status, e.Code)));
        Assert.All(recorded.Artifacts, AssertMarker);
        // Only stored files are in the store: one still pending (it changed while kept, at a path the
        // racer made for a moment) has nothing there to delete.
        var stored = recorded.Artifacts.Where(a => a.State == ArtifactStates.Stored).ToList();
        Assert.Equal(stored.Select(a => a.Path).Order(StringComparer.Ordinal), onDisk);
        Assert.Equal(stored.Select(a => a.Path).Order(StringComparer.Ordinal), cleanup.Deleted.Order(StringComparer.Ordinal));
        Assert.Equal(cleanup.Deleted.Count, cleanup.Deleted.Distinct().Count());
        Assert.Equal(stored.OrderByDescending(a => a.Created).Select(a => a.Created), cleanup.Deleted.Select(p => stored.Single(a => a.Path == p).Created));
        Assert.False(Directory.Exists(setDir), $"{setDir} is still there");
        Assert.Equal((404, ErrorCodes.ArtifactNotFound), (gone.Status, gone.Code));
        // Nothing else went: the other set's files and manifest, and every blob (shared ones too), are where they were.
        Assert.Empty(storeBefore.Except(storeAfter));
        Assert.Equal(2, otherKept.Artifacts!.Count);
        Assert.Equal("marker-other\n", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task ASetDeletedAsItsSandboxGoes_WhileItsCommandsEnd_IsGoneForGood()
    {
        var rounds = 0;
        var watch = Stopwatch.StartNew();
        for (; rounds < 8 && watch.Elapsed < Budget; rounds++)
        {
            var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
            await sandbox.ShAsync("mkdir -p out && printf 'marker-first\\n' > out/first.csv");
            // Commands ending (each a detection that writes the set) as the sandbox is deleted and its set with it.
            var commands = Enumerable.Range(0, 8).Select(n => Task.Run(async () =>
            {
                for (var i = 0; ; i++)
                {
                    try
                    {
                        await sandbox.ShAsync($"printf 'marker-{n}x{i}\\n' > out/f{n}-{i}.csv");
                    }
                    catch (HutchApiException e) when (e.Status is not (500 or 0))
                    {
                        return;   // the sandbox is deleting, or gone: a refusal, never a failure of the daemon
                    }
                }
            })).ToList();
            await Task.Delay(50 * (rounds % 4));
            await Client.DeleteSandboxAsync(sandbox.Id);
            ArtifactCleanup? cleanup = null;
            while (cleanup is null)
            {
                try
                {
                    cleanup = await Client.DeleteArtifactSetAsync(sandbox.Id);
                }
                catch (HutchApiException e) when (e.Code == ErrorCodes.SessionLive)
                {
                    await Task.Delay(5);
                }
            }
            await Task.WhenAll(commands);
            var setDir = Path.Join(fixture.Options.ArtifactDir, "sets", sandbox.Id);
            var gone = await Assert.ThrowsAsync<HutchApiException>(() => Client.GetArtifactSetAsync(sandbox.Id));

            if (Directory.Exists(setDir))
            {
                Assert.Fail($"round {rounds}: {setDir} is still there after its cleanup: {string.Join(", ", Directory.EnumerateFileSystemEntries(setDir, "*", SearchOption.AllDirectories))}");
            }
            Assert.Equal((404, ErrorCodes.ArtifactNotFound), (gone.Status, gone.Code));
        }
        output.WriteLine($"{rounds} rounds");
    }

    [Fact]
    public async Task AFileHiddenFromTheListingCache_ByPuttingItsDirectorysMtimeBack_IsStillDetected()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        await sandbox.ShAsync("mkdir -p out && printf 'marker-first\\n' > out/first.csv");
        await Task.Delay(200);   // out's mtime is now older than the racy window: its listing is kept between looks
        var cached = await sandbox.ShAsync("true");
        // What tar, cp -p and rsync -a do to a directory they fill: its mtime set back to what it was.
        var hidden = await sandbox.PythonAsync("""
            import os
            st = os.stat("out")
            open("out/hidden.csv", "w").write("marker-hidden\n")
            os.utime("out", ns=(st.st_atime_ns, st.st_mtime_ns))
            """);
        await Task.Delay(200);
        var later = await sandbox.ShAsync("true");
        var listed = await Client.ListArtifactsAsync(sandbox.Id);

        Assert.Null(cached.Artifacts);
        Assert.Equal(0, hidden.ExitCode);
        Assert.Contains("out/hidden.csv", (hidden.Artifacts ?? []).Concat(later.Artifacts ?? []).Select(a => a.Path));
        Assert.Equal(["out/first.csv", "out/hidden.csv"], listed.Artifacts.Select(a => a.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task FilesMadeAtAnyMomentAroundTheDetections_AreAllKept_ByTheEnd()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        // New names in out and in new directories at every moment, many inside the racy window of a listing.
        var racer = await StartRacerAsync(sandbox, """
            mkdir -p out
            i=0
            while [ ! -e stop ]; do
              i=$((i+1))
              printf 'marker-%d\n' $i > out/f$i.csv
              [ $((i % 10)) -eq 0 ] && mkdir out/d$i && printf 'marker-%d\n' $i > out/d$i/g.csv
              sleep 0.0$((i % 5))
            done
            """);
        var (results, kept) = await DetectWhileRacingAsync(sandbox);
        await StopRacerAsync(sandbox, racer);
        var last = await sandbox.ShAsync("find out -type f | sort");
        var listed = await Client.ListArtifactsAsync(sandbox.Id);

        output.WriteLine($"{results} detections while racing, {kept.Count} files kept by them");
        Assert.All(listed.Artifacts, AssertMarker);
        Assert.All(listed.Artifacts, a => Assert.Equal(ArtifactStates.Stored, a.State));
        Assert.Equal(last.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), listed.Artifacts.Select(a => a.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AFileRewrittenThroughAMapping_WhileItIsKept_IsNeverStoredUnderAHashItsContentDoesNotHave()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])));
        // Writes through a shared mapping to pages that are already dirty move neither mtime nor ctime:
        // the file changes under the daemon's copy and hash with nothing in its status to say so.
        await Client.WriteTextAsync(sandbox.Id, "mapper.py", """
            import mmap, os
            os.makedirs("out", exist_ok=True)
            size = 4 << 20
            with open("out/mapped.bin", "wb") as f:
                f.truncate(size)
            f = open("out/mapped.bin", "r+b")
            m = mmap.mmap(f.fileno(), size)
            fills = [b"a" * size, b"b" * size]
            m[:] = fills[1]
            open("ready", "w").close()
            i = 0
            while not os.path.exists("stop"):
                m[:] = fills[i % 2]
                i += 1
            """);
        var racer = await Client.StartProcessAsync(sandbox.Id, "cd /workspace && exec python3 mapper.py", name: "racer");
        await sandbox.ShAsync("while [ ! -e ready ]; do sleep 0.01; done", timeoutMs: 30_000);

        var stored = new List<ArtifactInfo>();
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < Detections / 3 && watch.Elapsed < Budget / 2; i++)
        {
            stored.Add(await Client.RecordArtifactAsync(sandbox.Id, "out/mapped.bin", "mapped"));
        }
        await StopRacerAsync(sandbox, racer);

        output.WriteLine($"{stored.Count} records, {stored.Count(a => a.State == ArtifactStates.Stored)} stored, {stored.Select(a => a.Sha256).Distinct().Count()} distinct hashes");
        Assert.All(stored.Where(a => a.State == ArtifactStates.Stored), a =>
        {
            var blob = File.ReadAllBytes(Path.Join(fixture.Options.ArtifactDir, "blobs", a.Sha256![..2], a.Sha256));
            Assert.Equal(4 << 20, blob.Length);
            Assert.Equal(a.Sha256, Convert.ToHexStringLower(SHA256.HashData(blob)));
        });
    }

    /// <summary>Starts <paramref name="script"/> as a background process in /workspace; it must loop until a file named stop appears.</summary>
    private async Task<ProcessInfo> StartRacerAsync(TestSandbox sandbox, string script)
    {
        await Client.WriteTextAsync(sandbox.Id, "racer.sh", script);
        var process = await Client.StartProcessAsync(sandbox.Id, "cd /workspace && exec sh racer.sh", name: "racer");
        await sandbox.WaitForProgramAsync("sh");
        return process;
    }

    private async Task StopRacerAsync(TestSandbox sandbox, ProcessInfo racer)
    {
        await sandbox.ShAsync("touch /workspace/stop");
        var ended = await Client.WaitProcessAsync(sandbox.Id, racer.Id, TimeSpan.FromSeconds(30));
        Assert.NotNull(ended.ExitCode);
        await sandbox.ShAsync("rm -f /workspace/stop");
    }

    /// <summary>Commands (each ends with a detection) while the racer runs: every one must come back with exit 0.</summary>
    private async Task<(int Results, List<ArtifactInfo> Kept)> DetectWhileRacingAsync(TestSandbox sandbox)
    {
        var kept = new List<ArtifactInfo>();
        var watch = Stopwatch.StartNew();
        var results = 0;
        for (; results < Detections && watch.Elapsed < Budget; results++)
        {
            var result = await sandbox.ShAsync("true");
            Assert.True(result.ExitCode == 0, $"exec {results}: exit {result.ExitCode}, {result.Stderr}");
            kept.AddRange(result.Artifacts ?? []);
        }
        return (results, kept);
    }

    /// <summary>Records <paramref name="paths"/> in turn until the detections are done: each is the marker, or 400 artifact_not_file.</summary>
    private async Task<(List<ArtifactInfo> Stored, int Refused)> RecordWhileRacingAsync(TestSandbox sandbox, string[] paths)
    {
        await Task.Yield();
        var stored = new List<ArtifactInfo>();
        var refused = 0;
        var watch = Stopwatch.StartNew();
        for (var i = 0; watch.Elapsed < Budget; i++)
        {
            try
            {
                stored.Add(await Client.RecordArtifactAsync(sandbox.Id, paths[i % paths.Length], "raced"));
            }
            catch (HutchApiException e) when (e.Status == 400 && e.Code == ErrorCodes.ArtifactNotFile)
            {
                refused++;
            }
        }
        return (stored, refused);
    }

    /// <summary>A kept file is a marker the racer wrote (or the empty file before it), stored whole under its SHA-256 (never a file a link pointed at).</summary>
    private void AssertMarker(ArtifactInfo artifact)
    {
        if (artifact.State != ArtifactStates.Stored)
        {
            Assert.Null(artifact.Sha256);   // pending: changed while it was kept, kept again at the next look
            return;
        }
        var blob = File.ReadAllBytes(Path.Join(fixture.Options.ArtifactDir, "blobs", artifact.Sha256![..2], artifact.Sha256));
        Assert.True(Marker().IsMatch(Encoding.UTF8.GetString(blob)), $"{artifact.Path} kept as '{Encoding.UTF8.GetString(blob[..Math.Min(blob.Length, 200)])}'");
        Assert.Equal(artifact.Sha256, Convert.ToHexStringLower(SHA256.HashData(blob)));
        Assert.Equal(blob.Length, artifact.Size);
    }

    /// <summary>Every file of the store but one set's, by path and inode.</summary>
    private HashSet<string> StoreFiles(string except)
    {
        var root = fixture.Options.ArtifactDir;
        var skipped = Path.Join(root, "sets", except) + "/";
        return [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => !f.StartsWith(skipped, StringComparison.Ordinal) && !f.StartsWith(Path.Join(root, "tmp") + "/", StringComparison.Ordinal))
            .Where(f => Path.GetFileName(f) != "manifest.json")   // rewritten (a new inode) by any later detection of its set
            .Select(f => $"{Path.GetRelativePath(root, f)} {InodeOf(f)}")];
    }

    private static ulong InodeOf(string path)
    {
        using var handle = File.OpenHandle(path);
        return Hutch.Linux.At.Stat(handle, "").Inode;
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>A marker, or nothing: a file the racer had made and not yet written (printf's open, then its write).</summary>
    [GeneratedRegex(@"\A(marker-[a-z0-9]+\n)?\z")]
    private static partial Regex Marker();
}
