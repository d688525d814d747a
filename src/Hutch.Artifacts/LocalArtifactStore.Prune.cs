using Hutch.Linux;
using Hutch.Linux.Interop;

namespace Hutch.Artifacts;

// Prune: removing the blobs no set refers to any more.
public sealed partial class LocalArtifactStore
{
    public Task<(int Blobs, long Bytes)> PruneAsync(IReadOnlySet<string> referenced, CancellationToken cancellationToken)
    {
        var (count, bytes) = (0, 0L);
        using var root = OpenRoot();
        using var blobs = Beneath.Open(root, "blobs", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true);
        foreach (var shard in At.ReadDirectory(blobs).Where(e => e.Kind == EntryKind.Directory && e.Name.Length == 2))
        {
            using var dir = Beneath.Open(blobs, shard.Name, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
            foreach (var blob in At.ReadDirectory(dir))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (blob.Kind != EntryKind.File || !BlobRef.IsValid(blob.Name) || referenced.Contains(blob.Name))
                {
                    continue;
                }
                var status = At.Stat(dir, blob.Name);
                // A set's files/ tree holds a hard link to each blob its manifest names: a blob linked
                // there stays even when the caller's list misses it (a registry that lost its last rows).
                if (status.Links > 1)
                {
                    continue;
                }
                At.Unlink(dir, blob.Name);
                (count, bytes) = (count + 1, bytes + status.Size);
            }
        }
        return Task.FromResult((count, bytes));
    }
}
