namespace Hutch.Tests.Infrastructure;

/// <summary>Where the built pieces are: eng/test.sh builds them into artifacts/ before the tests run.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>The NativeAOT agent (HUTCH_AGENT, else artifacts/agent/hutch-agent).</summary>
    public static string Agent => Existing(Environment.GetEnvironmentVariable("HUTCH_AGENT") is { Length: > 0 } a ? a : Path.Join(RepoRoot, "artifacts", "agent", "hutch-agent"));

    /// <summary>The published CLI (artifacts/cli/hutch), for tests that need a daemon in its own process.</summary>
    public static string Cli => Existing(Path.Join(RepoRoot, "artifacts", "cli", "hutch"));

    /// <summary>A fresh, short temporary directory (Unix socket paths must stay under 108 bytes).</summary>
    public static string NewTempDir(string prefix)
    {
        var dir = Path.Join("/tmp", $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Deletes a data dir a test made, unmounting first what Hutch mounted in it (the workspaces'
    /// XFS volume): deleting through a mount point would empty the volume and then fail on it.
    /// </summary>
    public static void DeleteDataDir(string dir)
    {
        var mounts = File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' ')[4])
            .Where(point => point.StartsWith(dir + "/", StringComparison.Ordinal))
            .OrderByDescending(point => point.Length);
        foreach (var point in mounts)
        {
            using var umount = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("umount", [point]) { RedirectStandardError = true })!;
            var error = umount.StandardError.ReadToEnd();
            umount.WaitForExit();
            if (umount.ExitCode != 0)
            {
                throw new InvalidOperationException($"umount {point} failed: {error}");
            }
        }
        Directory.Delete(dir, recursive: true);
    }

    private static string Existing(string path) => File.Exists(path)
        ? path
        : throw new InvalidOperationException($"{path} is missing: run the tests with eng/test.sh, which builds it.");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Join(dir.FullName, "Hutch.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("cannot find the repository root (Hutch.slnx) above " + AppContext.BaseDirectory);
    }
}
