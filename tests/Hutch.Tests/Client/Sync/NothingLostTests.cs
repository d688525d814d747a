using Hutch.Client.Sync;
using static Hutch.Tests.Client.Sync.SyncTestTree;

namespace Hutch.Tests.Client.Sync;

/// <summary>
/// The promise of pull, checked over many random edits on both sides: a local change is never lost or
/// moved, a local file is replaced only by the sandbox's own change of it, every sandbox change ends
/// up somewhere local, and the sandbox is never touched.
/// </summary>
[Trait("Category", "Unit")]
public class NothingLostTests
{
    private static readonly string[] Files = ["a", "b", "c", "d/e", "d/f", "d/g/h", "i/j"];

    [Fact]
    public async Task OverManyRandomEditsOnBothSides_PullNeverLosesALocalChange()
    {
        for (var seed = 1; seed <= 60; seed++)
        {
            try
            {
                await RunAsync(seed);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new Xunit.Sdk.XunitException($"seed {seed}: {e}");
            }
        }
    }

    private static async Task RunAsync(int seed)
    {
        var random = new Random(seed);
        using var t = new SyncTestTree();
        foreach (var path in Files.Where(_ => random.NextDouble() < 0.8))
        {
            Write(t.Local, path, $"base {path}");
        }
        await t.PushAsync();
        var baseline = Snapshot(t.Local);

        Edit(t.Local, "local", random);
        Edit(t.Sandbox, "sandbox", random);
        var localBefore = Snapshot(t.Local);
        var sandbox = Snapshot(t.Sandbox);

        var report = await t.PullAsync();
        var localAfter = Snapshot(t.Local);
        var everything = localAfter.Values.ToHashSet();

        foreach (var (path, content) in localBefore.Where(e => e.Value != "/"))
        {
            if (baseline.GetValueOrDefault(path) != content)
            {
                // Changed locally: still there, untouched.
                Assert.True(localAfter.GetValueOrDefault(path) == content, $"local change of {path} was lost or moved");
            }
            else
            {
                // Unchanged locally: kept, or replaced (or removed) because the sandbox changed it.
                Assert.True(localAfter.GetValueOrDefault(path) == content || sandbox.GetValueOrDefault(path) != content,
                    $"{path} was replaced although the sandbox did not change it");
            }
        }
        foreach (var (path, content) in sandbox.Where(e => e.Value != "/" && baseline.GetValueOrDefault(e.Key) != e.Value))
        {
            Assert.True(everything.Contains(content), $"the sandbox's change of {path} is nowhere locally");
        }
        Assert.Equal(sandbox, Snapshot(t.Sandbox));

        // Pulling again changes nothing and reports the same conflicts.
        var again = await t.PullAsync();
        Assert.Empty(again.Taken);
        Assert.Empty(again.DeletedLocally);
        Assert.Equal(report.Conflicts.Select(c => c.Path), again.Conflicts.Select(c => c.Path));
        Assert.Equal(localAfter, Snapshot(t.Local));
    }

    /// <summary>Random edits of one side: change, delete, create, and now and then a directory turned into a file or back.</summary>
    private static void Edit(string dir, string side, Random random)
    {
        foreach (var path in Files)
        {
            var full = Path.Join(dir, path);
            var present = File.Exists(full);
            switch (random.Next(5))
            {
                case 0 when present:
                    File.Delete(full);
                    break;
                case 1:
                    if (!Directory.Exists(full) && !IsBlockedByAFile(dir, path))
                    {
                        Write(dir, path, $"{side} {path} {random.Next(1000)}");
                    }
                    break;
                case 2 when present:
                    File.SetUnixFileMode(full, random.Next(2) == 0 ? Mode("755") : Mode("600"));
                    break;
            }
        }
        if (random.NextDouble() < 0.15 && Directory.Exists(Path.Join(dir, "d")))
        {
            Directory.Delete(Path.Join(dir, "d"), recursive: true);
            Write(dir, "d", $"{side} d became a file");
        }
        else if (random.NextDouble() < 0.1 && File.Exists(Path.Join(dir, "a")))
        {
            File.Delete(Path.Join(dir, "a"));
            Write(dir, "a/inside", $"{side} a became a directory");
        }
        else if (random.NextDouble() < 0.1 && File.Exists(Path.Join(dir, "b")))
        {
            File.Delete(Path.Join(dir, "b"));
            File.CreateSymbolicLink(Path.Join(dir, "b"), $"{side}-target");
        }
    }

    private static bool IsBlockedByAFile(string dir, string path) =>
        SyncPath.Ancestors(path).Any(a => File.Exists(Path.Join(dir, a)) || new FileInfo(Path.Join(dir, a)).LinkTarget is not null);
}
