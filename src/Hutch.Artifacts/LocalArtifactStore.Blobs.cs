using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Artifacts;

// Blobs by name: what a spool of this store's kind needs (the daemon keeps files the real store could
// not take in one, and removes them once they are stored).
public sealed partial class LocalArtifactStore
{
    /// <summary>A blob opened for reading, to hand to another store's put; artifact_not_found when absent.</summary>
    public SafeFileHandle OpenBlob(string sha256)
    {
        using var root = OpenRoot();
        return OpenBlob(root, sha256);
    }

    /// <summary>The names (SHA-256) of every blob held.</summary>
    public List<string> Blobs()
    {
        using var root = OpenRoot();
        using var blobs = Beneath.Open(root, "blobs", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true);
        var names = new List<string>();
        foreach (var shard in At.ReadDirectory(blobs).Where(e => e.Kind == EntryKind.Directory))
        {
            using var dir = Beneath.Open(blobs, shard.Name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
            names.AddRange(At.ReadDirectory(dir).Where(e => e.Kind == EntryKind.File && BlobRef.IsValid(e.Name) && e.Name.StartsWith(shard.Name, StringComparison.Ordinal))
                .Select(e => e.Name));
        }
        return names;
    }

    /// <summary>Removes one blob (gone already is fine). Only for a store no set links to: a set's files/ would keep the content anyway.</summary>
    public void DeleteBlob(string sha256)
    {
        if (!BlobRef.IsValid(sha256))
        {
            throw NotFound($"'{sha256}' is not a SHA-256 in hex");
        }
        using var root = OpenRoot();
        SafeFileHandle shard;
        try
        {
            shard = Beneath.Open(root, "blobs/" + sha256[..2], Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            return;
        }
        using (shard)
        {
            TryUnlink(shard, sha256, directory: false);
        }
    }
}
