using System.Formats.Tar;
using System.Security.Cryptography;
using Hutch.Client.Sync;

namespace Hutch.Tests.Client.Sync;

/// <summary>
/// A stand-in for a sandbox workspace: a temporary directory read and written through tar streams,
/// as the daemon will. Written independently of the code under test (no LocalScanner, no LocalFs) so
/// that it checks it rather than agrees with it.
/// </summary>
internal sealed class DirectoryRemote : ISyncRemote, IDisposable
{
    public DirectoryRemote(string workspace)
    {
        Workspace = workspace;
        Directory.CreateDirectory(workspace);
    }

    /// <summary>The workspace directory; tests edit it directly to play the agent in the sandbox.</summary>
    public string Workspace { get; }

    /// <summary>Runs after ExportTarAsync is asked for and before the tar is built: a change made during a pull.</summary>
    public Action<IReadOnlyList<string>>? BeforeExport { get; set; }

    /// <summary>Paths asked of ExportTarAsync, per call.</summary>
    public List<IReadOnlyList<string>> Exports { get; } = [];

    /// <summary>Paths given to DeleteAsync.</summary>
    public List<string> Deletes { get; } = [];

    /// <summary>Names of the entries of every imported tar.</summary>
    public List<string> Imported { get; } = [];

    public string Full(string root, string path) => Path.Join(Workspace, root, path);

    public async Task<IReadOnlyList<SyncEntry>> ListAsync(string root, CancellationToken cancellationToken)
    {
        var entries = new List<SyncEntry>();
        var top = Path.Join(Workspace, root);
        if (!Directory.Exists(top))
        {
            return entries;
        }
        var options = new EnumerationOptions { AttributesToSkip = 0, RecurseSubdirectories = false };
        var pending = new Stack<string>([""]);
        while (pending.TryPop(out var dir))
        {
            foreach (var info in new DirectoryInfo(Path.Join(top, dir)).EnumerateFileSystemInfos("*", options))
            {
                var path = dir.Length == 0 ? info.Name : dir + "/" + info.Name;
                if (info.LinkTarget is { } target)
                {
                    entries.Add(new SyncEntry(path, SyncEntryType.Symlink, 0x1FF, 0, null, target));
                }
                else if (info is DirectoryInfo)
                {
                    entries.Add(new SyncEntry(path, SyncEntryType.Directory, (int)info.UnixFileMode, 4096, null, null));
                    pending.Push(path);
                }
                else
                {
                    var bytes = await File.ReadAllBytesAsync(info.FullName, cancellationToken);
                    entries.Add(new SyncEntry(path, SyncEntryType.File, (int)info.UnixFileMode, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)), null));
                }
            }
        }
        return entries;
    }

    public async Task ImportTarAsync(string root, Stream tar, CancellationToken cancellationToken)
    {
        var top = Path.Join(Workspace, root);
        Directory.CreateDirectory(top);
        await using var reader = new TarReader(tar);
        while (await reader.GetNextEntryAsync(copyData: false, cancellationToken) is { } entry)
        {
            Imported.Add(entry.Name);
            var name = entry.Name.TrimEnd('/');
            Assert.DoesNotContain("..", name.Split('/'));
            var full = Path.Join(top, name);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            AssertNoSymlinkOnTheWay(top, name);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    if (new FileInfo(full).LinkTarget is not null || File.Exists(full))
                    {
                        File.Delete(full);
                    }
                    Directory.CreateDirectory(full);
                    File.SetUnixFileMode(full, entry.Mode);
                    break;
                case TarEntryType.SymbolicLink:
                    var link = full + ".import-tmp";
                    File.CreateSymbolicLink(link, entry.LinkName);
                    File.Move(link, full, overwrite: true);
                    break;
                case TarEntryType.RegularFile:
                    var temporary = full + ".import-tmp";
                    await using (var file = File.Create(temporary))
                    {
                        if (entry.DataStream is { } data)
                        {
                            await data.CopyToAsync(file, cancellationToken);
                        }
                    }
                    File.SetUnixFileMode(temporary, entry.Mode);
                    File.Move(temporary, full, overwrite: true);
                    break;
                default:
                    throw new InvalidDataException($"unexpected tar entry {entry.EntryType} {name}");
            }
        }
    }

    public Task<Stream> ExportTarAsync(string root, IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        Exports.Add(paths);
        BeforeExport?.Invoke(paths);
        var top = Path.Join(Workspace, root);
        var archive = new MemoryStream();
        using (var writer = new TarWriter(archive, TarEntryFormat.Gnu, leaveOpen: true))
        {
            foreach (var path in paths)
            {
                var full = Path.Join(top, path);
                if (new FileInfo(full).LinkTarget is { } target)
                {
                    writer.WriteEntry(new GnuTarEntry(TarEntryType.SymbolicLink, path) { LinkName = target });
                }
                else if (Directory.Exists(full))
                {
                    writer.WriteEntry(new GnuTarEntry(TarEntryType.Directory, path));
                }
                else if (File.Exists(full))
                {
                    // "./" as GNU tar writes it: the client must accept either spelling.
                    writer.WriteEntry(full, "./" + path);
                }
            }
        }
        archive.Position = 0;
        return Task.FromResult<Stream>(archive);
    }

    public Task DeleteAsync(string root, string path, CancellationToken cancellationToken)
    {
        Deletes.Add(path);
        var full = Path.Join(Workspace, root, path);
        if (new FileInfo(full).LinkTarget is not null || File.Exists(full))
        {
            File.Delete(full);
        }
        else if (Directory.Exists(full))
        {
            Directory.Delete(full, recursive: true);
        }
        return Task.CompletedTask;
    }

    private static void AssertNoSymlinkOnTheWay(string top, string name)
    {
        var parts = name.Split('/');
        for (var i = 1; i < parts.Length; i++)
        {
            Assert.Null(new FileInfo(Path.Join(top, string.Join('/', parts[..i]))).LinkTarget);
        }
    }

    public void Dispose() => SyncTestTree.DeleteTree(Workspace);
}
