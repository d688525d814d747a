/// <summary>
/// Removes a data dir a bench made: the daemon mounted its workspaces' volume (a loop image) inside
/// it, and deleting through the mount point fails on it and left the volume mounted (30 loop mounts
/// and their btrfs cleaner threads piled up over a day of bench runs, skewing the next ones).
/// </summary>
internal static class BenchDataDir
{
    public static void Remove(string dir)
    {
        var mounts = File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' ')[4])
            .Where(point => point == dir || point.StartsWith(dir + "/", StringComparison.Ordinal))
            .OrderByDescending(point => point.Length);
        foreach (var point in mounts)
        {
            using var umount = System.Diagnostics.Process.Start("umount", ["--lazy", point]);
            umount.WaitForExit();
        }
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"bench: could not remove {dir}: {e.Message}");
        }
    }
}
