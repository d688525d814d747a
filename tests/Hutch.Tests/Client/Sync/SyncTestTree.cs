using System.Security.Cryptography;
using System.Text;
using Hutch.Client.Sync;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Client.Sync;

/// <summary>
/// A local directory and a fake sandbox workspace side by side, with the helpers every sync test uses:
/// write a file on either side, read a whole tree back as a dictionary.
/// </summary>
internal sealed class SyncTestTree : IDisposable
{
    public const string SandboxId = "sbx-test";

    public SyncTestTree(string remoteRoot = "app")
    {
        Top = TestPaths.NewTempDir("hutch-sync");
        Local = Path.Join(Top, "local");
        Directory.CreateDirectory(Local);
        Remote = new DirectoryRemote(Path.Join(Top, "sandbox"));
        RemoteRoot = remoteRoot;
        Sandbox = Path.Join(Remote.Workspace, remoteRoot);
        Client = new SyncClient(Remote, SandboxId);
    }

    public string Top { get; }
    public string Local { get; }
    public DirectoryRemote Remote { get; }
    public string RemoteRoot { get; }

    /// <summary>The synced directory inside the fake workspace.</summary>
    public string Sandbox { get; }

    public SyncClient Client { get; }

    /// <summary>A directory next to both, for symlinks that point outside.</summary>
    public string Outside => Path.Join(Top, "outside");

    public Task<PushReport> PushAsync(SyncOptions? options = null) => Client.PushAsync(Local, RemoteRoot, options);

    public Task<PullReport> PullAsync(SyncOptions? options = null) => Client.PullAsync(Local, RemoteRoot, options);

    public string StateFile => Path.Join(Local, ".hutch", "sync", SandboxId + ".json");

    public static void Write(string dir, string path, string content, string? mode = null)
    {
        var full = Path.Join(dir, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        if (mode is not null)
        {
            File.SetUnixFileMode(full, Mode(mode));
        }
    }

    public static string Read(string dir, string path) => File.ReadAllText(Path.Join(dir, path));

    public static bool Exists(string dir, string path) => new FileInfo(Path.Join(dir, path)).Attributes != (FileAttributes)(-1);

    public static UnixFileMode Mode(string octal) => (UnixFileMode)Convert.ToInt32(octal, 8);

    public static string ModeOf(string dir, string path) => Convert.ToString((int)File.GetUnixFileMode(Path.Join(dir, path)) & 0x1FF, 8);

    public static string Sha(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    /// <summary>
    /// A tree as path → what it holds: a file's text, "-> target" for a symlink, "/" for a directory.
    /// The sync state folder is left out.
    /// </summary>
    public static SortedDictionary<string, string> Snapshot(string dir)
    {
        var tree = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var options = new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = false };
        var pending = new Stack<string>([""]);
        while (pending.TryPop(out var sub))
        {
            foreach (var info in new DirectoryInfo(Path.Join(dir, sub)).EnumerateFileSystemInfos("*", options))
            {
                var path = sub.Length == 0 ? info.Name : sub + "/" + info.Name;
                if (path == ".hutch" || path.StartsWith(".hutch/", StringComparison.Ordinal))
                {
                    continue;
                }
                if (info.LinkTarget is { } target)
                {
                    tree[path] = "-> " + target;
                }
                else if (info is DirectoryInfo)
                {
                    tree[path] = "/";
                    pending.Push(path);
                }
                else
                {
                    tree[path] = File.ReadAllText(info.FullName);
                }
            }
        }
        return tree;
    }

    /// <summary>Deletes a tree even where a test made directories read-only, never following a symlink.</summary>
    public static void DeleteTree(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return;
        }
        var pending = new Stack<string>([dir]);
        while (pending.TryPop(out var current))
        {
            File.SetUnixFileMode(current, Mode("755"));
            foreach (var sub in new DirectoryInfo(current).EnumerateDirectories("*", new EnumerationOptions { AttributesToSkip = 0 }))
            {
                if (sub.LinkTarget is null)
                {
                    pending.Push(sub.FullName);
                }
            }
        }
        Directory.Delete(dir, recursive: true);
    }

    public void Dispose()
    {
        Remote.Dispose();
        DeleteTree(Top);
    }
}
