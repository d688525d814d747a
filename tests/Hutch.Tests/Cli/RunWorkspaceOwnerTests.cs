using System.Diagnostics;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>What a sandbox makes in a caller's directory (`hutch run --workspace`) is the caller's afterwards, never a mapped uid's.</summary>
public class RunWorkspaceOwnerTests
{
    [Theory]
    [InlineData("4242", "4343", "4242:4343")] // run through sudo by uid 4242
    [InlineData(null, null, "0:0")]           // run by root itself
    public async Task FilesMadeInAHostWorkspace_BelongToTheCaller(string? sudoUid, string? sudoGid, string expected)
    {
        var dataDir = TestPaths.NewTempDir("hutch-c");
        var workspace = TestPaths.NewTempDir("hutch-w");
        try
        {
            File.WriteAllText(Path.Join(workspace, "mine"), "the caller's own file\n");
            FileOwnerOf(Path.Join(workspace, "mine"), 0, 0);
            var env = new Dictionary<string, string?> { ["SUDO_UID"] = sudoUid, ["SUDO_GID"] = sudoGid };

            var (code, stderr) = await HutchAsync(dataDir, env, "run", "--workspace", workspace, "--",
                "sh", "-c", "mkdir -p a/b/c && echo x > a/b/c/f && ln -s /etc/passwd a/link && mkfifo a/pipe");

            Assert.True(code == 0, stderr);
            var owners = await OwnersAsync(workspace, "-not", "-name", "mine");
            Assert.Equal([expected], owners);
            Assert.Equal(["0:0"], await OwnersAsync(workspace, "-name", "mine")); // not made by the sandbox: left as it was
        }
        finally
        {
            TestPaths.DeleteDataDir(dataDir);
            Directory.Delete(workspace, recursive: true);
        }
    }

    private static void FileOwnerOf(string path, int uid, int gid) => Hutch.Linux.FileOwner.Change(path, uid, gid);

    /// <summary>The distinct uid:gid of the entries find(1) selects (the top directory included), never following symlinks.</summary>
    private static async Task<string[]> OwnersAsync(string dir, params string[] filter)
    {
        var psi = new ProcessStartInfo("find") { RedirectStandardOutput = true };
        foreach (var arg in new[] { dir }.Concat(filter).Concat(["-printf", "%U:%G\\n"]))
        {
            psi.ArgumentList.Add(arg);
        }
        using var find = Process.Start(psi)!;
        var output = await find.StandardOutput.ReadToEndAsync();
        await find.WaitForExitAsync();
        return [.. output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Distinct().Order()];
    }

    private static async Task<(int Code, string Stderr)> HutchAsync(string dataDir, Dictionary<string, string?> env, params string[] args)
    {
        var psi = new ProcessStartInfo(TestPaths.Cli) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["HUTCH_DATA_DIR"] = dataDir;
        psi.Environment["HUTCH_AGENT"] = TestPaths.Agent;
        psi.Environment.Remove("HUTCH_URL");
        foreach (var (name, value) in env)
        {
            if (value is null)
            {
                psi.Environment.Remove(name);
            }
            else
            {
                psi.Environment[name] = value;
            }
        }
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        await stdout;
        return (process.ExitCode, await stderr);
    }
}
