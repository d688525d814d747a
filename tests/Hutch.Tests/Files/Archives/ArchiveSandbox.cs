using System.Security.Cryptography;
using Hutch.Files;
using Hutch.Files.Archives;
using Hutch.Linux;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Files.Archives;

/// <summary>
/// A real <see cref="Workspace"/> on a temp directory, with a canary directory beside it (outside the
/// workspace) that no import or export may touch or read.
/// </summary>
internal sealed class ArchiveSandbox : IDisposable
{
    public const int Owner = 100_000;
    public const string Secret = "OUTSIDE-SECRET-7f3a";

    private readonly string _dir = TestPaths.NewTempDir("hutch-ar");

    public ArchiveSandbox(string? workspaceDirectory = null)
    {
        Root = workspaceDirectory ?? Path.Join(_dir, "ws");
        Outside = Path.Join(_dir, "outside");
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Path.Join(Outside, "dir"));
        File.WriteAllText(Path.Join(Outside, "canary.txt"), Secret);
        File.WriteAllText(Path.Join(Outside, "dir", "passwd"), Secret);
        Workspace = new Workspace(Root, Owner, Owner);
    }

    public string Root { get; }
    public string Outside { get; }
    public Workspace Workspace { get; }

    public string PathOf(string relative) => Path.Join(Root, relative);

    public Task<ImportResult> ImportAsync(byte[] archive, string directory = "dest", ImportLimits? limits = null) =>
        ArchiveImporter.ImportAsync(Workspace, directory, OneWayStream.Reading(archive), limits ?? ImportLimits.Default);

    public async Task<byte[]> ExportAsync(string path, IReadOnlyList<string>? include = null)
    {
        var output = new MemoryStream();
        await ArchiveExporter.ExportAsync(Workspace, path, include, new OneWayStream(output));
        return output.ToArray();
    }

    /// <summary>The workspace and the canary directory, hidden entries included (a staging directory left behind shows).</summary>
    public (List<string> Workspace, List<string> Outside) Snapshot() => (Tree(Root), Tree(Outside));

    /// <summary>One line per entry: path, kind, mode, owner, and content hash or link target (directory sizes and times left out).</summary>
    public static List<string> Tree(string root, bool owners = true, bool times = false)
    {
        var lines = new List<string>();
        Walk(root, "", lines, owners, times);
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private static void Walk(string root, string relative, List<string> lines, bool owners, bool times)
    {
        var dir = Path.Join(root, relative);
        using var handle = Beneath.OpenRoot(dir);
        foreach (var full in Directory.EnumerateFileSystemEntries(dir, "*", new EnumerationOptions { AttributesToSkip = 0 }))
        {
            var name = Path.GetFileName(full);
            var path = relative.Length == 0 ? name : relative + "/" + name;
            var s = At.Stat(handle, name);
            var detail = s.Kind switch
            {
                EntryKind.File => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(full))),
                EntryKind.Symlink => "-> " + At.ReadLink(handle, name),
                _ => "",
            };
            var owner = owners ? $" {s.Uid}:{s.Gid}" : "";
            var time = times && s.Kind != EntryKind.Directory ? $" t={s.MtimeNs / 1_000_000_000}" : "";
            lines.Add($"{path} {s.Kind} {Convert.ToString(s.Permissions, 8)}{owner}{time} {detail}");
            if (s.Kind == EntryKind.Directory)
            {
                Walk(root, path, lines, owners, times);
            }
        }
    }

    public static EntryStatus Stat(string path)
    {
        using var dir = Beneath.OpenRoot(Path.GetDirectoryName(path)!);
        return At.Stat(dir, Path.GetFileName(path));
    }

    public void Dispose()
    {
        Workspace.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
