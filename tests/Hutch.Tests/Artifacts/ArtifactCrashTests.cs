using System.Diagnostics;
using System.Security.Cryptography;
using Hutch.Artifacts;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Artifacts;

/// <summary>
/// A daemon killed with SIGKILL while it keeps a command's files in the local store: during a
/// large blob's upload, while the manifest's links are made, and at fixed delays that land
/// wherever they land. Whatever point a kill hits, after a restart the store is whole: the manifest
/// verifies and says what the daemon recorded, each entry's blob is there with its SHA-256, no temp
/// file is left, files/ holds exactly the manifest's paths, and the next command keeps the rest.
/// </summary>
public sealed class ArtifactCrashTests
{
    private const int SmallFiles = 200;

    /// <summary>When each round's kill comes, in order: the test asserts the same invariants after every one.</summary>
    private static readonly (string Name, Func<Round, bool>? Trigger, int DelayMs)[] Kills =
    [
        ("while the large blob is written to tmp/", r => Directory.EnumerateFileSystemEntries(r.Store("tmp")).Any(), 0),
        ("while the manifest's links are made", r => Directory.Exists(r.Store("sets", r.Set, "files", "out", $"small-{r.Number}")), 0),
        ("150 ms after the command", null, 150),
        ("600 ms after the command", null, 600),
    ];

    private sealed record Round(KillableDaemon Daemon, string Set, int Number)
    {
        public string Store(params string[] parts) => Path.Join([Daemon.DataDir, "artifacts", .. parts]);
    }

    [Fact]
    public async Task ADaemonKilledWith9WhileKeepingFiles_LeavesAWholeStore_AndTheNextCommandKeepsTheRest()
    {
        await using var daemon = await KillableDaemon.StartAsync("hutch-ak", new Dictionary<string, string>());
        var set = (await daemon.Client.CreateSandboxAsync(new CreateSandboxRequest(Artifacts: new ArtifactSpec(["out/**"])))).Id;
        var key = await File.ReadAllBytesAsync(Path.Join(daemon.DataDir, "artifacts.key"));

        for (var number = 0; number < Kills.Length; number++)
        {
            var (name, trigger, delayMs) = Kills[number];
            var round = new Round(daemon, set, number);
            // Made outside the globs first, then moved in at once: the timed command is two renames,
            // so the kill lands in the daemon's keeping, not in the sandbox's writing.
            var staged = await daemon.Client.ExecAsync(set, new ExecRequest(Command:
                $"mkdir -p stage/small-{number} out && head -c {160 + 32 * number}M /dev/urandom > stage/big.bin"
                + $" && for i in $(seq 1 {SmallFiles}); do echo \"{number} $i\" > stage/small-{number}/$i.txt; done"));
            Assert.True(staged.ExitCode == 0, staged.Stderr);

            var exec = daemon.Client.ExecAsync(set, new ExecRequest(Command: $"mv stage/big.bin out/big.bin && mv stage/small-{number} out/"));
            await KillAsync(round, exec, trigger, delayMs);
            await daemon.RestartAsync();

            AssertWhole(round, key, $"after the kill {name}");
            var next = await daemon.Client.ExecAsync(set, new ExecRequest(Command: "true"));
            Assert.True(next.ExitCode == 0, next.Stderr);
            AssertWhole(round, key, $"after the command that followed the kill {name}");
            await AssertEveryFileKeptAsync(round, name);
        }
    }

    /// <summary>Kills the daemon when <paramref name="trigger"/> holds or after the delay; at the latest once the exec answered.</summary>
    private static async Task KillAsync(Round round, Task<ExecResult> exec, Func<Round, bool>? trigger, int delayMs)
    {
        var since = Stopwatch.StartNew();
        while (!exec.IsCompleted && (trigger is null ? since.ElapsedMilliseconds < delayMs : !trigger(round)))
        {
            await Task.Delay(trigger is null ? 5 : 1);
        }
        round.Daemon.Kill();
        try
        {
            await exec;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or Hutch.Client.HutchApiException or TaskCanceledException)
        {
            // Cut off by the kill, as expected.
        }
    }

    /// <summary>The invariants a kill at any point must leave (read from the store's files, not through the daemon).</summary>
    private static void AssertWhole(Round round, byte[] key, string when)
    {
        Assert.True(!Directory.EnumerateFileSystemEntries(round.Store("tmp")).Any(), $"{when}: a temp blob is left in tmp/");
        var setDir = round.Store("sets", round.Set);
        Assert.True(Directory.EnumerateFileSystemEntries(setDir).Select(Path.GetFileName).Order().SequenceEqual(ManifestAndFiles(setDir)),
            $"{when}: the set's directory holds more than its manifest and files/: {string.Join(", ", Directory.EnumerateFileSystemEntries(setDir))}");
        var manifestFile = Path.Join(setDir, "manifest.json");
        var manifest = File.Exists(manifestFile)
            ? ArtifactManifest.FromSignedJson(File.ReadAllBytes(manifestFile), round.Set, key)   // throws when it does not verify
            : ArtifactManifest.Empty(round.Set);
        var files = Path.Join(setDir, "files");
        var linked = Directory.EnumerateFileSystemEntries(files, "*", SearchOption.AllDirectories)
            .Where(p => !Directory.Exists(p)).Select(p => Path.GetRelativePath(files, p)).Order(StringComparer.Ordinal);
        Assert.True(linked.SequenceEqual(manifest.Entries.Select(e => e.Path).Order(StringComparer.Ordinal)), $"{when}: files/ does not hold exactly the manifest's paths");
        foreach (var entry in manifest.Entries)
        {
            var blob = round.Store("blobs", entry.Sha256[..2], entry.Sha256);
            Assert.True(File.Exists(blob), $"{when}: the blob of {entry.Path} is missing");
            using (var content = File.OpenRead(blob))
            {
                Assert.Equal((entry.Sha256, entry.Size), (Convert.ToHexStringLower(SHA256.HashData(content)), content.Length));
            }
            Assert.Equal(Inode(blob), Inode(Path.Join(files, entry.Path)));
        }
        var listed = round.Daemon.Client.GetArtifactSetAsync(round.Set).GetAwaiter().GetResult().Artifacts
            .Where(a => a.State == ArtifactStates.Stored).Select(a => (a.Path, a.Sha256)).Order();
        Assert.True(listed.SequenceEqual(manifest.Entries.Select(e => (e.Path, (string?)e.Sha256)).Order()), $"{when}: the manifest does not say what the daemon recorded");
    }

    /// <summary>Every file under out/ in the workspace is kept with the content it has now.</summary>
    private static async Task AssertEveryFileKeptAsync(Round round, string name)
    {
        var sums = await round.Daemon.Client.ExecAsync(round.Set, new ExecRequest(Command: "find out -type f -exec sha256sum {} +"));
        var inWorkspace = sums.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split("  ", 2)).Select(p => (Path: p[1], Sha256: (string?)p[0])).Order().ToList();
        var kept = (await round.Daemon.Client.GetArtifactSetAsync(round.Set)).Artifacts
            .Where(a => a.State == ArtifactStates.Stored).Select(a => (a.Path, a.Sha256)).Order().ToList();
        Assert.Equal((round.Number + 1) * SmallFiles + 1, inWorkspace.Count);
        Assert.True(inWorkspace.SequenceEqual(kept), $"after the kill {name}: the next command did not keep every file as it is");
    }

    private static string[] ManifestAndFiles(string setDir) =>
        File.Exists(Path.Join(setDir, "manifest.json")) ? ["files", "manifest.json"] : ["files"];

    private static ulong Inode(string path) => Templates.LayerSandbox.Stat(path).Inode;
}
