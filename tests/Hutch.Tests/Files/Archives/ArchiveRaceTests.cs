using Hutch.Files;

namespace Hutch.Tests.Files.Archives;

/// <summary>
/// The sandbox keeps running during an import or export: here it swaps a directory the archive
/// writes into (or the export walks) for a symlink that leads out of the workspace, in a loop. Imports
/// may fail or succeed; nothing outside may ever be written or read.
/// </summary>
[Trait("Category", "Unit")]
public sealed class ArchiveRaceTests : IDisposable
{
    private readonly ArchiveSandbox _box = new();

    public void Dispose() => _box.Dispose();

    [Fact]
    public async Task Import_WhileADirectoryIsSwappedForAnEscapingLink_NeverWritesOutside()
    {
        Directory.CreateDirectory(_box.PathOf("dest/sub"));
        var tar = new TarBuilder();
        for (var i = 0; i < 100; i++)
        {
            tar.File($"sub/f{i}.txt", "pwned").File($"sub/deeper/g{i}.txt", "pwned");
        }
        var archive = tar.Build();
        var outsideBefore = ArchiveSandbox.Tree(_box.Outside);

        var imports = await RaceAsync(_box.PathOf("dest/sub"), async () =>
        {
            try
            {
                await _box.ImportAsync(archive);
            }
            catch (WorkspaceException)
            {
                // Refused or failed midway: both are fine, escaping is not.
            }
        });

        Assert.True(imports > 3);
        Assert.Equal(outsideBefore, ArchiveSandbox.Tree(_box.Outside));
        Assert.Empty(Directory.GetFileSystemEntries(_box.PathOf("dest"), ".hutch-import-*"));
    }

    [Fact]
    public async Task Export_WhileADirectoryIsSwappedForAnEscapingLink_NeverReadsOutside()
    {
        for (var i = 0; i < 50; i++)
        {
            Directory.CreateDirectory(_box.PathOf($"d/sub/n{i}"));
            File.WriteAllText(_box.PathOf($"d/sub/n{i}/f.txt"), "inside");
        }
        File.WriteAllText(_box.PathOf("d/sub/canary.txt"), "inside");

        var exports = await RaceAsync(_box.PathOf("d/sub"), async () =>
        {
            var tar = await _box.ExportAsync("d");
            Assert.DoesNotContain(ArchiveSandbox.Secret, System.Text.Encoding.Latin1.GetString(tar));
        });

        Assert.True(exports > 3);
    }

    /// <summary>
    /// Runs the operation again and again while <see cref="Swap"/> attacks <paramref name="directory"/> on a
    /// thread of its own: for 3 s, and on a loaded machine until at least 4 rounds ran (at most 30 s),
    /// so the race is always exercised; returns the rounds.
    /// </summary>
    private static async Task<int> RaceAsync(string directory, Func<Task> operation)
    {
        using var stop = new CancellationTokenSource();
        var swapper = new Thread(() => Swap(directory, "../../outside", stop.Token)) { IsBackground = true };
        swapper.Start();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var rounds = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(3) || (rounds < 4 && clock.Elapsed < TimeSpan.FromSeconds(30)))
        {
            await operation();
            rounds++;
        }
        await stop.CancelAsync();
        swapper.Join();
        return rounds;
    }

    /// <summary>What a process in the sandbox could do: rename the real directory aside, put a link in its place, and back.</summary>
    private static void Swap(string directory, string linkTarget, CancellationToken stop)
    {
        var aside = directory + "-real";
        while (!stop.IsCancellationRequested)
        {
            Directory.Move(directory, aside);
            try
            {
                Directory.CreateSymbolicLink(directory, linkTarget);
                Thread.Yield();
                File.Delete(directory);
            }
            catch (IOException)
            {
                // The importer made the directory again in the gap (it was missing then): MoveBack clears it.
            }
            MoveBack(aside, directory);
        }
    }

    /// <summary>The importer may make the directory again in the gap (it was missing then): clear it and retry.</summary>
    private static void MoveBack(string aside, string directory)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                Directory.Move(aside, directory);
                return;
            }
            catch (IOException) when (attempt < 100)
            {
                if (new FileInfo(directory).LinkTarget is not null)
                {
                    File.Delete(directory);
                }
                else
                {
                    Hutch.Linux.TreeRemover.Delete(directory);
                }
            }
        }
    }
}
