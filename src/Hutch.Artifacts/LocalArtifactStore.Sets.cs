using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Artifacts;

// Sets: their roots, manifests and file trees, under the root-identity rules.
public sealed partial class LocalArtifactStore
{
    public Task<SetIdentity> CreateSetAsync(string set, CancellationToken cancellationToken)
    {
        CheckSetName(set);
        using var root = OpenRoot();
        using var sets = Beneath.Open(root, "sets", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true);
        TryMakeDirectory(sets, set);
        using var dir = Beneath.Open(sets, set, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
        TryMakeDirectory(dir, FilesDirectory);
        return Task.FromResult(IdentityOf(dir));
    }

    public Task WriteManifestAsync(ArtifactManifest manifest, SetIdentity identity, CancellationToken cancellationToken)
    {
        using var root = OpenRoot();
        ArtifactManifest? before;
        using (var dir = OpenSet(root, manifest.Set, identity))
        {
            foreach (var entry in manifest.Entries)
            {
                cancellationToken.ThrowIfCancellationRequested();
                LinkEntry(root, dir, entry);
            }
            before = TryReadManifest(dir, manifest.Set);
        }
        // The manifest last: once it names a file, the file and its blob are there.
        using (var dir = OpenSet(root, manifest.Set, identity))
        {
            var temp = ".manifest-" + TempName();
            using (var file = Beneath.Open(dir, temp, Beneath.O_WRONLY | Beneath.O_CREAT | Beneath.O_EXCL | Beneath.O_NOFOLLOW, 0x180, noSymlinks: true))
            {
                RandomAccess.Write(file, manifest.ToSignedJson(_key), 0);
                At.Sync(file);
            }
            At.Rename(dir, temp, dir, ManifestFile);
            At.Sync(dir);
        }
        // Then the names the new manifest no longer has (a stored file pending again, changed while it
        // was kept): files/ holds exactly the manifest's names, so a cleanup leaves an empty set.
        var named = manifest.Entries.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
        Unlink(root, manifest.Set, identity, [.. (before?.Entries ?? []).Select(e => e.Path).Where(p => !named.Contains(p))], cancellationToken);
        return Task.CompletedTask;
    }

    /// <summary>The set's manifest as it is, or null when there is none or it does not verify (then nothing is removed by it).</summary>
    private ArtifactManifest? TryReadManifest(SafeFileHandle dir, string set)
    {
        try
        {
            return ReadManifest(dir, set);
        }
        catch (ArtifactException e) when (e.Code == ErrorCodes.ArtifactManifestInvalid)
        {
            return null;
        }
    }

    public Task<ArtifactManifest?> ReadManifestAsync(string set, CancellationToken cancellationToken)
    {
        CheckSetName(set);
        using var root = OpenRoot();
        SafeFileHandle dir;
        try
        {
            dir = Beneath.Open(root, "sets/" + set, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT)
        {
            return Task.FromResult<ArtifactManifest?>(null);
        }
        catch (Exception e) when (e is ContainmentException or LinuxException { Errno: Errno.ENOTDIR or Errno.ELOOP })
        {
            throw RootChanged(set, e);
        }
        using (dir)
        {
            return Task.FromResult(ReadManifest(dir, set));
        }
    }

    /// <summary>The manifest in a set's (checked) root, verified; null when there is none yet.</summary>
    private ArtifactManifest? ReadManifest(SafeFileHandle dir, string set)
    {
        SafeFileHandle file;
        try
        {
            file = Beneath.Open(dir, ManifestFile, Beneath.O_RDONLY | Beneath.O_NOFOLLOW, noSymlinks: true);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT)
        {
            return null;
        }
        using (file)
        {
            var length = RandomAccess.GetLength(file);
            if (length > 64 << 20)
            {
                throw new ArtifactException(ErrorCodes.ArtifactManifestInvalid, $"The manifest of artifact set '{set}' is {length} bytes, more than any the daemon writes: it is not trusted.");
            }
            var bytes = new byte[length];
            RandomAccess.Read(file, bytes, 0);
            return ArtifactManifest.FromSignedJson(bytes, set, _key);
        }
    }

    public Task<IReadOnlyList<string>> DeleteSetAsync(string set, SetIdentity identity, CancellationToken cancellationToken)
    {
        using var root = OpenRoot();
        ArtifactManifest manifest;
        using (var checkedRoot = OpenSet(root, set, identity))
        {
            manifest = ReadManifest(checkedRoot, set) ?? ArtifactManifest.Empty(set);
        }
        var deleted = manifest.Entries.OrderByDescending(e => e.Created).ThenByDescending(e => e.Path, StringComparer.Ordinal).Select(e => e.Path).ToList();
        Unlink(root, set, identity, deleted, cancellationToken);
        using (var dir = OpenSet(root, set, identity))
        {
            TryUnlink(dir, ManifestFile, directory: false);
            TryUnlink(dir, FilesDirectory, directory: true);
        }
        using (var sets = Beneath.Open(root, "sets", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true))
        {
            OpenSet(root, set, identity).Dispose();   // checked once more, right before it goes
            TryUnlink(sets, set, directory: true);
        }
        return Task.FromResult<IReadOnlyList<string>>(deleted);
    }

    /// <summary>The set's root, checked to be the directory the set was made in.</summary>
    private static SafeFileHandle OpenSet(SafeFileHandle root, string set, SetIdentity identity)
    {
        CheckSetName(set);
        SafeFileHandle dir;
        try
        {
            dir = Beneath.Open(root, "sets/" + set, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
        }
        catch (Exception e) when (e is ContainmentException or LinuxException { Errno: Errno.ENOTDIR or Errno.ELOOP })
        {
            throw RootChanged(set, e);
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            throw new ArtifactException(ErrorCodes.ArtifactNotFound, $"The artifact set '{set}' has no directory in the store.", e);
        }
        if (IdentityOf(dir) != identity)
        {
            dir.Dispose();
            throw RootChanged(set, null);
        }
        return dir;
    }

    /// <summary>Makes files/PATH a hard link to the entry's blob (replacing another version of it atomically).</summary>
    private static void LinkEntry(SafeFileHandle root, SafeFileHandle set, ManifestEntry entry)
    {
        using var blob = OpenBlob(root, entry.Sha256);
        using var parent = TryOpenParent(set, entry.Path, create: true)!;
        var name = Path.GetFileName(entry.Path);
        if (At.TryStat(parent, name) is { Kind: EntryKind.File } present && present.Inode == At.Stat(blob, "").Inode)
        {
            return;
        }
        var temp = ".link-" + TempName();
        At.Link(blob, parent, temp);
        At.Rename(parent, temp, parent, name);
    }

    /// <summary>The directory that holds <paramref name="path"/> under files/ (made when <paramref name="create"/>); null when missing.</summary>
    private static SafeFileHandle? TryOpenParent(SafeFileHandle set, string path, bool create, bool underFiles = true)
    {
        var parts = path.Split('/');
        var current = underFiles
            ? Beneath.Open(set, FilesDirectory, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true)
            : Beneath.Open(set, "", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true);
        foreach (var part in parts[..^1])
        {
            if (create)
            {
                TryMakeDirectory(current, part);
            }
            SafeFileHandle next;
            try
            {
                next = Beneath.Open(current, part, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
            }
            catch (LinuxException e) when (!create && e.Errno is Errno.ENOENT or Errno.ENOTDIR)
            {
                current.Dispose();
                return null;
            }
            current.Dispose();
            current = next;
        }
        return current;
    }

    /// <summary>
    /// Removes the names <paramref name="paths"/> from a set's files/ tree in that order (each after
    /// the root's identity check), then the directories they were in, deepest first; a directory that
    /// still holds another name stays.
    /// </summary>
    private void Unlink(SafeFileHandle root, string set, SetIdentity identity, IReadOnlyList<string> paths, CancellationToken cancellationToken)
    {
        foreach (var path in paths)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var dir = OpenSet(root, set, identity);
            if (TryOpenParent(dir, path, create: false) is { } parent)
            {
                using (parent)
                {
                    TryUnlink(parent, Path.GetFileName(path), directory: false);
                }
            }
        }
        foreach (var directory in paths.SelectMany(Parents).Distinct().OrderByDescending(d => d.Count(c => c == '/')))
        {
            using var dir = OpenSet(root, set, identity);
            using var files = Beneath.Open(dir, FilesDirectory, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
            if (TryOpenParent(files, directory, create: false, underFiles: false) is { } parent)
            {
                using (parent)
                {
                    TryUnlink(parent, Path.GetFileName(directory), directory: true);
                }
            }
        }
    }

    private static IEnumerable<string> Parents(string path)
    {
        for (var i = path.LastIndexOf('/'); i > 0; i = path.LastIndexOf('/', i - 1))
        {
            yield return path[..i];
        }
    }

    private static void TryUnlink(SafeFileHandle dir, string name, bool directory)
    {
        try
        {
            At.Unlink(dir, name, directory);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTEMPTY or Errno.EEXIST)
        {
            // Gone already, or a directory that holds what no manifest recorded: left as it is.
        }
    }

    /// <summary>Set ids: a sandbox id or session:KEY (letters, digits, '.', '_', ':', '-'), never a path.</summary>
    internal static void CheckSetName(string set)
    {
        if (!SetName().IsMatch(set))
        {
            throw new ArtifactException(ErrorCodes.ArtifactNotFound, $"'{set}' is not an artifact set's id.");
        }
    }

    private static ArtifactException RootChanged(string set, Exception? inner) => new(ErrorCodes.ArtifactRootChanged,
        $"The directory of artifact set '{set}' is not the one it was made in (it was swapped, moved or replaced by a link): nothing was written or deleted.", inner);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,159}$")]
    private static partial Regex SetName();
}
