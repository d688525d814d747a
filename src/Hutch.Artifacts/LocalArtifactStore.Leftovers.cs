using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Artifacts;

// What a daemon killed while writing a set leaves there, removed at its next start.
public sealed partial class LocalArtifactStore
{
    private const int MaxDepth = 256;

    /// <summary>
    /// A manifest write links the files first and renames the manifest last, so a kill in between
    /// leaves a temp manifest, temp links, and links of files (or of directories) the manifest in
    /// place does not name. Left there, they would outlive a delete of the set (which removes only
    /// what the manifest names) and show in files/ what was never recorded. Every step opens the set's
    /// root again under the identity check and never follows a link.
    /// </summary>
    public Task RemoveLeftoversAsync(string set, SetIdentity identity, CancellationToken cancellationToken)
    {
        using var root = OpenRoot();
        ArtifactManifest manifest;
        using (var dir = OpenSet(root, set, identity))
        {
            // Read first: a manifest that does not verify stops here, before anything is removed by it.
            manifest = ReadManifest(dir, set) ?? ArtifactManifest.Empty(set);
            foreach (var entry in At.ReadDirectory(dir))
            {
                if (entry.Name.StartsWith(".manifest-", StringComparison.Ordinal))
                {
                    TryUnlink(dir, entry.Name, directory: entry.Kind == EntryKind.Directory);
                }
            }
        }
        using (var dir = OpenSet(root, set, identity))
        {
            foreach (var entry in manifest.Entries)
            {
                cancellationToken.ThrowIfCancellationRequested();
                LinkEntry(root, dir, entry);   // a path the kill left linked to a newer version than the manifest's
            }
        }
        var named = manifest.Entries.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
        var parents = manifest.Entries.SelectMany(e => Parents(e.Path)).ToHashSet(StringComparer.Ordinal);
        using (var dir = OpenSet(root, set, identity))
        using (var files = Beneath.Open(dir, FilesDirectory, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true))
        {
            Sweep(files, "", named, parents, depth: 0, cancellationToken);
        }
        return Task.CompletedTask;
    }

    /// <summary>Removes from one directory of files/ (and below) what is neither a named file nor a directory a named file is in.</summary>
    private static void Sweep(SafeFileHandle dir, string relative, HashSet<string> named, HashSet<string> parents, int depth, CancellationToken cancellationToken)
    {
        foreach (var entry in At.ReadDirectory(dir))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
            if (entry.Kind == EntryKind.Directory && depth < MaxDepth)
            {
                using (var child = Beneath.Open(dir, entry.Name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true))
                {
                    Sweep(child, path, named, parents, depth + 1, cancellationToken);
                }
                if (!parents.Contains(path))
                {
                    TryUnlink(dir, entry.Name, directory: true);
                }
            }
            else if (entry.Kind != EntryKind.Directory && !named.Contains(path))
            {
                TryUnlink(dir, entry.Name, directory: false);
            }
        }
    }
}
