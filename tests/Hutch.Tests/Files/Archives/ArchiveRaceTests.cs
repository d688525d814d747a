using Hutch.Files;

namespace Hutch.Tests.Files.Archives;

/// <summary>
/// The sandbox keeps running during an import or export: here it swaps a directory the archive
/// writes into (or the export walks) for a symlink that leads out of the workspace, in a loop. Imports
/// may fail or succeed; nothing outside may ever be written or read.
/// </summary>
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

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var swapper = Task.Run(() => Swap(_box.PathOf("dest/sub"), "../../outside", stop.Token));
        var imports = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _box.ImportAsync(archive);
            }
            catch (WorkspaceException)
            {
                // Refused or failed midway: both are fine, escaping is not.
            }
            imports++;
        }
        await swapper;

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

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var swapper = Task.Run(() => Swap(_box.PathOf("d/sub"), "../../outside", stop.Token));
        var exports = 0;
        while (!stop.IsCancellationRequested)
        {
            var tar = await _box.ExportAsync("d");
            Assert.DoesNotContain(ArchiveSandbox.Secret, System.Text.Encoding.Latin1.GetString(tar));
            exports++;
        }
        await swapper;

        Assert.True(exports > 3);
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
