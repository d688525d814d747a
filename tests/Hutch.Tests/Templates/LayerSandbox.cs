using System.Diagnostics;
using Hutch.Linux;
using Hutch.Runtime.Templates;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Templates;

/// <summary>
/// A temporary directory with a layer store in it ("layers") and a canary directory beside the store
/// ("outside", holding one file) that no layer may ever write to, change or link.
/// </summary>
internal sealed class LayerSandbox : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("hutch-layers");

    public LayerSandbox()
    {
        Store = new LayerStore(Path.Join(_dir, "layers"));
        Outside = Path.Join(_dir, "outside");
        System.IO.Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Join(Outside, "canary.txt"), "untouched");
    }

    public LayerStore Store { get; }
    public string Outside { get; }
    public string Dir => _dir;

    public Task<LayerInfo> AddAsync(byte[] tar, LayerLimits? limits = null) => Store.AddAsync(new MemoryStream(tar), limits ?? LayerLimits.Default);

    /// <summary>The path of <paramref name="relative"/> in the stored layer <paramref name="digest"/>.</summary>
    public string In(string digest, string relative) => Path.Join(Store.PathOf(digest), relative);

    /// <summary>Asserts a refusal left nothing: the store is empty (no layer, no temporary) and the canary directory as it was.</summary>
    public void AssertNothingWritten()
    {
        Assert.Empty(System.IO.Directory.GetFileSystemEntries(Store.Root));
        Assert.Equal(["canary.txt"], System.IO.Directory.GetFileSystemEntries(Outside).Select(Path.GetFileName));
        Assert.Equal("untouched", File.ReadAllText(Path.Join(Outside, "canary.txt")));
        Assert.Equal(1u, Stat(Path.Join(Outside, "canary.txt")).Links);
        Assert.Equal(["layers", "outside"], System.IO.Directory.GetFileSystemEntries(_dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    public static EntryStatus Stat(string path)
    {
        using var dir = Beneath.OpenRoot(Path.GetDirectoryName(path)!);
        return At.Stat(dir, Path.GetFileName(path));
    }

    public static EntryStatus? TryStat(string path)
    {
        using var dir = Beneath.OpenRoot(Path.GetDirectoryName(path)!);
        return At.TryStat(dir, Path.GetFileName(path));
    }

    /// <summary>Every extended attribute of a file or directory (opened without following a link), name → value.</summary>
    public static Dictionary<string, string> Xattrs(string path)
    {
        using var parent = Beneath.OpenRoot(Path.GetDirectoryName(path)!);
        using var file = Beneath.Open(parent, Path.GetFileName(path), Beneath.O_RDONLY | Beneath.O_NOFOLLOW | Beneath.O_NONBLOCK);
        return At.ListXattrs(file).ToDictionary(name => name, name => System.Text.Encoding.UTF8.GetString(At.GetXattr(file, name) ?? []));
    }

    /// <summary>Runs a program to its end, failing the test when it fails.</summary>
    public static string Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', args)} exited {process.ExitCode}: {stderr}");
        return stdout.Result;
    }

    public void Dispose()
    {
        foreach (var point in File.ReadAllLines("/proc/self/mountinfo").Select(line => line.Split(' ')[4])
                     .Where(point => point.StartsWith(_dir + "/", StringComparison.Ordinal)).OrderByDescending(point => point.Length))
        {
            Run("umount", point);
        }
        TreeRemover.Delete(_dir);
    }
}
