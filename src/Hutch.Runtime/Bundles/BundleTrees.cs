using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Hutch.Runtime.Templates;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Runtime.Bundles;

/// <summary>A refused bundle with a stable code (<see cref="ErrorCodes.InvalidBundle"/>, <see cref="ErrorCodes.BundleTooLarge"/>, disk_full).</summary>
public sealed class BundleException(string code, string message, Exception? inner = null) : CodedException(code, message, inner);

/// <summary>A version's tree as it was made: staged, not yet under its name.</summary>
/// <param name="Files">Regular files in it.</param>
/// <param name="Bytes">Bytes of those files.</param>
/// <param name="NewBlobs">Files whose content no earlier version had (the rest are hard links to stored blobs).</param>
/// <param name="Digest">"sha256:…" over the sorted list of its entries (path, kind, mode, content hash or link target): equal trees, equal digest.</param>
/// <param name="Warnings">What was left out and why (device nodes, FIFOs).</param>
public sealed record BundleTree(string StagedName, long Files, long Bytes, long NewBlobs, string Digest, IReadOnlyList<string> Warnings);

/// <summary>
/// Bundles on disk: content-addressed blobs (<c>blobs/&lt;sha256&gt;</c>, <c>-x</c> when executable)
/// and one tree per version (<c>trees/&lt;name&gt;/&lt;version&gt;</c>) made of hard links to them, so a
/// file that several versions hold is stored once. Everything is root's and read-only: files 0444
/// (0555 when executable), directories 0555; symbolic links are kept as links, resolved inside a
/// sandbox, never by the daemon. A tar is extracted by the image layers' extractor (the same hostile
/// input rules, docs/design/0012 section 2, with no whiteouts and no FIFOs) into a private staging
/// directory, its files hashed and linked to blobs, and only then renamed to its version's name: a
/// refused or failed push leaves nothing. Which versions exist and who mounts them is the daemon's registry's business.
/// </summary>
public sealed class BundleTrees
{
    private const string StagingPrefix = ".tmp-";
    private const string DeletingPrefix = ".del-";
    private const int PrivateMode = 0x1c0;           // 0700: only the daemon reaches the store by path; sandboxes get mounts
    private const int ReadOnlyFile = 0x124;          // 0444
    private const int ReadOnlyExecutable = 0x16d;    // 0555, directories too
    private readonly object _blobLock = new();

    /// <summary>Opens (and makes, 0700) the store at <paramref name="root"/>; it needs hard links (any Linux file system).</summary>
    public BundleTrees(string root)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Root, (UnixFileMode)PrivateMode);
        Directory.CreateDirectory(Blobs, (UnixFileMode)PrivateMode);
        Directory.CreateDirectory(Trees, (UnixFileMode)PrivateMode);
    }

    public string Root { get; }
    private string Blobs => Path.Join(Root, "blobs");
    private string Trees => Path.Join(Root, "trees");

    /// <summary>A version's tree (what a sandbox mounts).</summary>
    public string TreeOf(string name, long version) => Path.Join(Trees, name, version.ToString(CultureInfo.InvariantCulture));

    /// <summary>Whether the version's tree is on disk.</summary>
    public bool Has(string name, long version) => Directory.Exists(TreeOf(name, version));

    /// <summary>
    /// Extracts a tar (plain or gzip) into a staging directory, hostile entries refused or neutralised
    /// as in an image layer, and makes every file a hard link to its content's blob (added when new).
    /// Nothing is named after a version yet: <see cref="Commit"/> does that, <see cref="Discard"/> undoes it.
    /// </summary>
    /// <exception cref="BundleException">invalid_bundle, bundle_too_large or disk_full; nothing of it is left.</exception>
    public async Task<BundleTree> StageAsync(Stream tar, LayerLimits limits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tar);
        var staged = StagingPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        using (var root = Beneath.OpenRoot(Root))
        {
            At.MakeDirectory(root, staged, PrivateMode);
        }
        try
        {
            LayerInfo extracted;
            using (var root = Beneath.OpenRoot(Root))
            using (var tree = Beneath.Open(root, staged, Beneath.O_PATH | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true))
            {
                try
                {
                    extracted = await LayerExtractor.ExtractAsync(tar, tree, limits, cancellationToken, plainTree: true).ConfigureAwait(false);
                }
                catch (TemplateException e)
                {
                    throw Translate(e);
                }
            }
            var (files, bytes, newBlobs, digest) = await Task.Run(() => Seal(staged, cancellationToken), cancellationToken).ConfigureAwait(false);
            return new BundleTree(staged, files, bytes, newBlobs, digest, extracted.Warnings);
        }
        catch (Exception e)
        {
            RemoveQuietly(staged);
            if (e is LinuxException { Errno: Errno.ENOSPC or Errno.EDQUOT } or IOException { HResult: Errno.ENOSPC or Errno.EDQUOT })
            {
                throw new BundleException(ErrorCodes.DiskFull, "the disk holding the bundle store is full; free space or delete unused bundle versions", e);
            }
            throw;
        }
    }

    /// <summary>Gives a staged tree its version's name (synced first, so a name never holds a half tree).</summary>
    /// <exception cref="IOException">The version's name is taken (a tree a crash left without its registry row: <see cref="RemoveLeftovers"/> clears those at start).</exception>
    public void Commit(BundleTree tree, string name, long version)
    {
        using var root = Beneath.OpenRoot(Root);
        using (var trees = Beneath.Open(root, "trees", Beneath.O_PATH | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true))
        {
            if (At.TryStat(trees, name) is null)
            {
                At.MakeDirectory(trees, name, PrivateMode);
            }
        }
        using (var syncing = Beneath.Open(root, tree.StagedName, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true))
        {
            At.SyncFileSystem(syncing);
        }
        using var parent = Beneath.Open(root, Path.Join("trees", name), Beneath.O_PATH | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
        At.Rename(root, tree.StagedName, parent, version.ToString(CultureInfo.InvariantCulture), noReplace: true);
    }

    /// <summary>Removes a staged tree that will not be committed (its new blobs go with the next sweep).</summary>
    public void Discard(BundleTree tree)
    {
        RemoveQuietly(tree.StagedName);
        SweepBlobs();
    }

    /// <summary>
    /// Deletes a version's tree (renamed away first, so its name never holds a half tree), then every
    /// blob no tree links any more. The caller makes sure no sandbox mounts it. False when it was not there.
    /// </summary>
    public bool Delete(string name, long version)
    {
        var doomed = DeletingPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        using (var root = Beneath.OpenRoot(Root))
        {
            try
            {
                using var trees = Beneath.Open(root, "trees", Beneath.O_PATH | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
                using var parent = Beneath.Open(trees, name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
                At.Rename(parent, version.ToString(CultureInfo.InvariantCulture), root, doomed, noReplace: true);
                if (At.ReadDirectory(parent).Count == 0)
                {
                    At.Unlink(trees, name, directory: true);
                }
            }
            catch (LinuxException e) when (e.Errno is Errno.ENOENT)
            {
                return false;
            }
        }
        TreeRemover.Delete(Path.Join(Root, doomed));
        SweepBlobs();
        return true;
    }

    /// <summary>
    /// Clears what a killed daemon left: staging and deleting directories, trees that no registry row
    /// names (<paramref name="known"/> says which are), and blobs nothing links. Call it at start, before any push.
    /// </summary>
    public int RemoveLeftovers(Func<string, long, bool> known)
    {
        var removed = 0;
        foreach (var entry in new DirectoryInfo(Root).EnumerateDirectories())
        {
            if (entry.Name.StartsWith(StagingPrefix, StringComparison.Ordinal) || entry.Name.StartsWith(DeletingPrefix, StringComparison.Ordinal))
            {
                TreeRemover.Delete(entry.FullName);
                removed++;
            }
        }
        foreach (var bundle in new DirectoryInfo(Trees).EnumerateDirectories())
        {
            foreach (var version in bundle.EnumerateDirectories())
            {
                if (!long.TryParse(version.Name, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || !known(bundle.Name, number))
                {
                    TreeRemover.Delete(version.FullName);
                    removed++;
                }
            }
        }
        SweepBlobs();
        return removed;
    }

    /// <summary>How many blobs the store holds (each distinct content once).</summary>
    public int BlobCount() => Directory.EnumerateFiles(Blobs).Count();

    /// <summary>Removes every blob no tree links any more (link count 1: the blob's own name).</summary>
    private void SweepBlobs()
    {
        lock (_blobLock)
        {
            using var root = Beneath.OpenRoot(Root);
            using var blobs = Beneath.Open(root, "blobs", Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
            foreach (var entry in At.ReadDirectory(blobs))
            {
                if (At.TryStat(blobs, entry.Name) is { Kind: EntryKind.File, Links: 1 })
                {
                    At.Unlink(blobs, entry.Name);
                }
            }
        }
    }

    /// <summary>
    /// Walks the extracted tree by descriptors (never following a link): hashes each regular file,
    /// then, under the blob lock (a sweep must not remove a blob between its lookup and its link),
    /// replaces it by a link to the blob of its content or makes it that blob; owners and modes become
    /// root's and read-only, directories last.
    /// </summary>
    private (long Files, long Bytes, long NewBlobs, string Digest) Seal(string staged, CancellationToken cancellationToken)
    {
        using var root = Beneath.OpenRoot(Root);
        using var tree = Beneath.Open(root, staged, Beneath.O_PATH | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
        var files = new List<(string Path, string Blob, long Size)>();
        var directories = new List<string> { "" };
        var symlinks = new List<string>();
        var listing = new List<string>();
        var pending = new Stack<string>();
        pending.Push("");
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var dirPath = pending.Pop();
            using var dir = Beneath.Open(tree, dirPath, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
            foreach (var entry in At.ReadDirectory(dir))
            {
                var path = dirPath.Length == 0 ? entry.Name : $"{dirPath}/{entry.Name}";
                var status = At.Stat(dir, entry.Name);
                switch (status.Kind)
                {
                    case EntryKind.Directory:
                        directories.Add(path);
                        pending.Push(path);
                        listing.Add($"d {path}");
                        break;
                    case EntryKind.Symlink:
                        symlinks.Add(path);
                        listing.Add($"l {path} -> {At.ReadLink(dir, entry.Name)}");
                        break;
                    case EntryKind.File:
                        using (var file = Beneath.Open(dir, entry.Name, Beneath.O_RDONLY | Beneath.O_NOFOLLOW, noSymlinks: true))
                        using (var stream = new FileStream(file, FileAccess.Read, 1, isAsync: false))
                        {
                            var sha = Convert.ToHexStringLower(SHA256.HashData(stream));
                            var blob = (status.Mode & 0x49) != 0 ? sha + "-x" : sha;
                            files.Add((path, blob, status.Size));
                            listing.Add($"f {path} {blob}");
                        }
                        break;
                    default:
                        // Nothing else comes out of the extractor for a plain tree (devices and FIFOs are skipped there).
                        At.Unlink(dir, entry.Name);
                        break;
                }
            }
        }
        long newBlobs = 0;
        lock (_blobLock)
        {
            using var blobs = Beneath.Open(root, "blobs", Beneath.O_PATH | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
            foreach (var (path, blob, _) in files)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (parentPath, name) = Split(path);
                using var parent = Beneath.Open(tree, parentPath, Beneath.O_PATH | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
                if (LinkToStored(blobs, blob, parent, name))
                {
                    continue;
                }
                using (var file = Beneath.Open(parent, name, Beneath.O_RDONLY | Beneath.O_NOFOLLOW, noSymlinks: true))
                {
                    At.Chown(file, "", 0, 0);
                    At.Chmod(file, blob.EndsWith("-x", StringComparison.Ordinal) ? ReadOnlyExecutable : ReadOnlyFile);
                    if (At.TryStat(blobs, blob) is null)
                    {
                        At.Link(file, blobs, blob);
                        newBlobs++;
                    }
                }
            }
        }
        foreach (var path in symlinks)
        {
            var (parentPath, name) = Split(path);
            using var parent = Beneath.Open(tree, parentPath, Beneath.O_PATH | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
            At.Chown(parent, name, 0, 0);
        }
        // Deepest first, so a directory's own time and mode are set once nothing more changes in it.
        foreach (var path in directories.OrderByDescending(p => p.Count(c => c == '/')).ThenByDescending(p => p.Length))
        {
            using var dir = Beneath.Open(tree, path, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
            At.Chown(dir, "", 0, 0);
            At.Chmod(dir, ReadOnlyExecutable);
        }
        listing.Sort(StringComparer.Ordinal);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', listing))));
        return (files.Count, files.Sum(f => f.Size), newBlobs, digest);
    }

    /// <summary>
    /// Replaces <paramref name="name"/> in <paramref name="parent"/> by a hard link to the stored blob,
    /// when there is one: linked under a temporary name, then renamed over the file. False when the
    /// blob is not stored, or has as many links as the file system allows (EMLINK: the file then
    /// stays an inode of its own, the same content stored twice).
    /// </summary>
    private static bool LinkToStored(SafeFileHandle blobs, string blob, SafeFileHandle parent, string name)
    {
        SafeFileHandle stored;
        try
        {
            stored = Beneath.Open(blobs, blob, Beneath.O_PATH | Beneath.O_NOFOLLOW, noSymlinks: true);
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            return false;
        }
        using (stored)
        {
            var temporary = ".link-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
            try
            {
                At.Link(stored, parent, temporary);
            }
            catch (LinuxException e) when (e.Errno == Errno.EMLINK)
            {
                return false;
            }
            At.Rename(parent, temporary, parent, name);
            return true;
        }
    }

    private static (string Parent, string Name) Split(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? ("", path) : (path[..slash], path[(slash + 1)..]);
    }

    /// <summary>The layer rules' refusal as a bundle's: its own code, and the rule's message (which speaks of a layer: the same rules).</summary>
    private static BundleException Translate(TemplateException e) => e.Code switch
    {
        ErrorCodes.DiskFull => new BundleException(ErrorCodes.DiskFull, "the disk holding the bundle store is full; free space or delete unused bundle versions", e),
        TemplateErrorCodes.LayerTooLarge => new BundleException(ErrorCodes.BundleTooLarge,
            $"the bundle's tar is past the store's limits ({e.Message.Replace("the layer", "the tar", StringComparison.Ordinal)}); push a smaller directory (--exclude what is not needed)", e),
        _ => new BundleException(ErrorCodes.InvalidBundle,
            $"the bundle's tar was refused by the rules image layers follow ({e.Code}): {e.Message}", e),
    };

    private void RemoveQuietly(string name)
    {
        try
        {
            TreeRemover.Delete(Path.Join(Root, name));
        }
        catch (IOException)
        {
            // Left for RemoveLeftovers at the next start.
        }
    }
}
