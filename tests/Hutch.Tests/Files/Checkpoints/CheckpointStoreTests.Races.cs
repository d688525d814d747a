using System.Runtime.CompilerServices;
using Hutch.Files;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Files.Checkpoints;

// Attacks from inside the sandbox on checkpoints and resets: a process that swaps a workspace
// directory for a symlink to a host directory in a tight loop (security invariant 4), and a tree
// nested deep enough to overflow a recursive walk.
public abstract partial class CheckpointStoreTests
{
    [Fact]
    public async Task ResetAndCreate_WhileADirectoryIsSwappedForASymlinkToTheHost_NeverTouchTheHost()
    {
        var outside = Path.Join(Root, "host");
        Directory.CreateDirectory(outside);
        File.WriteAllText(Path.Join(outside, "canary.txt"), "CANARY");
        File.WriteAllText(Path.Join(outside, "f.txt"), "host f");
        var before = Snapshot(outside);
        Write("d/f.txt", "inside f");
        Write("d/sub/g.txt", "g");
        Store.Create("c1");

        using var stop = new CancellationTokenSource();
        var swaps = new StrongBox<int>();
        // Its own thread: a pool thread may only start after the test's loop is over.
        var swapper = Task.Factory.StartNew(() => SwapInALoop(Full("d"), Full("d-aside"), outside, swaps, stop.Token),
            stop.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        SpinWait.SpinUntil(() => Volatile.Read(ref swaps.Value) > 0, TimeSpan.FromSeconds(10));
        var busy = 0;
        try
        {
            for (var i = 0; i < 150; i++)
            {
                try
                {
                    Store.Reset("c1");
                    Store.Create("race");
                    Assert.DoesNotContain(Directory.EnumerateFiles(Path.Join(StoreDirectory, "race"), "*", NoLinks),
                        f => File.ReadAllText(f) is "CANARY" or "host f");
                    Store.Delete("race");
                }
                catch (WorkspaceException e) when (e.Code == ErrorCodes.WorkspaceBusy)
                {
                    busy++;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await swapper;
        }

        Assert.Equal(before, Snapshot(outside));
        Assert.True(swaps.Value > 100, $"only {swaps.Value} swaps happened: the attack did not run");
        Assert.True(busy < 150, "every reset gave up as busy");
        Store.Reset("c1");
        Assert.Equal("inside f", Read("d/f.txt"));
        Assert.Equal("g", Read("d/sub/g.txt"));
    }

    [Fact]
    public void ATreeNestedDeeperThanTheWalksGo_IsRefused_NotAStackOverflow()
    {
        Directory.CreateDirectory(Full(string.Join('/', Enumerable.Repeat("d", 300))));

        Assert.Equal(ErrorCodes.NameTooLong, Assert.Throws<WorkspaceException>(() => Store.Create("deep")).Code);
        Assert.Empty(StoreEntries());
        Assert.Equal(ErrorCodes.NameTooLong, Assert.Throws<WorkspaceException>(() => Store.Diff()).Code);
        Assert.Equal(ErrorCodes.NameTooLong, Assert.Throws<WorkspaceException>(() => Store.Reset()).Code);
    }

    /// <summary>Recursion that neither follows nor returns symlinks (the checkpoint keeps the swapped-in link, as a link).</summary>
    private static readonly EnumerationOptions NoLinks = new() { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };

    private static void SwapInALoop(string directory, string aside, string outside, StrongBox<int> swaps, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                Directory.Move(directory, aside);
                File.CreateSymbolicLink(directory, outside);
                Thread.SpinWait(1000);
                File.Delete(directory);
                Directory.Move(aside, directory);
                Interlocked.Increment(ref swaps.Value);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The reset removed or recreated one of the names: start the swap over.
                try
                {
                    if (new FileInfo(directory).LinkTarget is not null)
                    {
                        File.Delete(directory);
                    }
                }
                catch (IOException)
                {
                }
            }
        }
        if (new FileInfo(directory).LinkTarget is not null)
        {
            File.Delete(directory);
        }
    }

    /// <summary>Every entry under a host directory with its content, mode and owner.</summary>
    private static string Snapshot(string directory) => string.Join("\n",
        Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Select(path =>
        {
            var info = new FileInfo(path);
            return $"{path} {info.UnixFileMode} {(info.Exists ? File.ReadAllText(path) : "dir")} {OwnerOf(path)} {info.LastWriteTimeUtc.Ticks}";
        })) + $"\n{OwnerOf(directory)} {File.GetUnixFileMode(directory)}";

    private static string OwnerOf(string path)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u:%g", path]) { RedirectStandardOutput = true })!;
        var owner = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return owner;
    }
}
