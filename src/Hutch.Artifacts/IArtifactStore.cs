using Microsoft.Win32.SafeHandles;

namespace Hutch.Artifacts;

/// <summary>The identity (device, inode) of a set's root directory when it was made; 0/0 for a store with no directories (S3).</summary>
public readonly record struct SetIdentity(ulong Device, ulong Inode);

/// <summary>
/// Where artifacts are kept: content-addressed blobs (equal files stored once) and one signed
/// manifest per set (docs/design/0013 section 2). Implementations: <see cref="LocalArtifactStore"/>
/// and <see cref="S3ArtifactStore"/>.
/// </summary>
public interface IArtifactStore
{
    /// <summary>"local" or "s3".</summary>
    string Kind { get; }

    /// <summary>Stores the content of <paramref name="source"/> (an open regular file, read from offset 0; nothing may write it meanwhile: hand a private clone) unless a blob of that content is there already.</summary>
    Task<BlobRef> PutAsync(SafeFileHandle source, CancellationToken cancellationToken);

    /// <summary>A blob's content; artifact_not_found when the store has none of that name.</summary>
    Task<Stream> OpenAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>Makes a set's root if the store has directories; its identity is what every later write and delete checks.</summary>
    Task<SetIdentity> CreateSetAsync(string set, CancellationToken cancellationToken);

    /// <summary>Replaces the set's manifest atomically (signed), after the root's identity is checked.</summary>
    Task WriteManifestAsync(ArtifactManifest manifest, SetIdentity identity, CancellationToken cancellationToken);

    /// <summary>The set's manifest, verified; null when the set has none yet.</summary>
    Task<ArtifactManifest?> ReadManifestAsync(string set, CancellationToken cancellationToken);

    /// <summary>Deletes what the manifest records (newest first), then the manifest, then the set's root; answers the paths deleted.</summary>
    Task<IReadOnlyList<string>> DeleteSetAsync(string set, SetIdentity identity, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes every blob whose SHA-256 <paramref name="referenced"/> does not hold (the sets' files,
    /// from the registry and the manifests); answers how many and their bytes. The caller keeps puts
    /// and manifest writes out meanwhile, so a blob stored but not yet named is not taken.
    /// </summary>
    Task<(int Blobs, long Bytes)> PruneAsync(IReadOnlySet<string> referenced, CancellationToken cancellationToken);

    /// <summary>A URL a browser can open without the API key, for one blob, until <paramref name="expiry"/>; null when the store has no URLs of its own (the daemon signs a link instead).</summary>
    Uri? PresignedUrl(string sha256, string fileName, TimeSpan expiry);
}
