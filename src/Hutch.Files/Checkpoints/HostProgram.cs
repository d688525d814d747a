using System.Diagnostics;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// Runs a host tool (mkfs.xfs, mount, umount) with its arguments as a list, never through a shell,
/// and says how it failed. Only for the few setup steps with no system call of their own worth
/// hand-writing (mkfs; mount -o loop, which also sets up and auto-detaches the loop device).
/// </summary>
internal static class HostProgram
{
    private static readonly string[] SearchPath = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    /// <summary>The program's full path, from PATH or the sbin directories a service's PATH may lack; null when missing.</summary>
    public static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH")?.Split(':', StringSplitOptions.RemoveEmptyEntries) ?? [];
        return path.Concat(SearchPath).Select(dir => Path.Join(dir, name)).FirstOrDefault(File.Exists);
    }

    /// <summary>Runs the program to its end; null on success, else what went wrong (its stderr, trimmed).</summary>
    public static string? Run(string program, params string[] arguments)
    {
        var file = Find(program);
        if (file is null)
        {
            return $"{program} is not installed";
        }
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            return $"{program} did not finish within 2 minutes";
        }
        if (process.ExitCode == 0)
        {
            return null;
        }
        var message = stderr.GetAwaiter().GetResult().Trim();
        return $"{program} failed (exit {process.ExitCode}){(message.Length == 0 ? "" : ": " + message)}";
    }
}
