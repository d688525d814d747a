using System.Security.Cryptography;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Artifacts;

/// <summary>
/// The embedded store: a directory of the daemon's (0700). Blobs are files named by their
/// SHA-256, written once (temp file, fsync, rename without replace); each set is a directory holding
/// its signed manifest and, under <c>files/</c>, its artifacts by path as hard links to their blobs, so a
/// set can be browsed and equal files still take their space once.
/// </summary>
/// <remarks>
/// Layout: <c>blobs/ab/abcdef…</c>, <c>tmp/</c> (blobs being written; emptied at start),
/// <c>sets/&lt;set&gt;/manifest.json</c>, <c>sets/&lt;set&gt;/files/&lt;path&gt;</c>. Every write and delete in a
/// set first opens the store's root and the set's root again without following links and compares
/// their (device, inode) with what they were when made, so a directory swapped for another or for a
/// symlink stops the operation before anything is written or removed (artifact_root_changed).
/// </remarks>
public sealed partial class LocalArtifactStore : IArtifactStore
{
    private const int OwnerOnly = 0x1c0;      // 0700
    private const int ReadOnlyFile = 0x100;   // 0400: the daemon's alone, like everything in the data dir
    private const string ManifestFile = "manifest.json";
    private const string FilesDirectory = "files";

    private readonly byte[] _key;
    private readonly SetIdentity _rootIdentity;

    /// <param name="root">The store's directory; made 0700 when missing.</param>
    /// <param name="manifestKey">The key manifests are signed with (32 bytes).</param>
    public LocalArtifactStore(string root, byte[] manifestKey)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(manifestKey.Length, 32);
        Root = Path.GetFullPath(root);
        _key = manifestKey;
        foreach (var dir in new[] { Root, Path.Join(Root, "blobs"), Path.Join(Root, "tmp"), Path.Join(Root, "sets") })
        {
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        using (var top = Beneath.OpenRoot(Root))
        {
            _rootIdentity = IdentityOf(top);
        }
        foreach (var leftover in Directory.EnumerateFiles(Path.Join(Root, "tmp")))
        {
            File.Delete(leftover);   // blobs a crash left half-written: never named, never referenced
        }
    }

    public string Kind => "local";

    public string Root { get; }

    /// <summary>The most bytes one blob may have (HUTCH_ARTIFACT_MAX_BYTES); a larger file is artifact_too_large, and a copy stops once past it.</summary>
    public long MaxBytes { get; init; } = long.MaxValue;

    public async Task<BlobRef> PutAsync(SafeFileHandle source, CancellationToken cancellationToken)
    {
        using var root = OpenRoot();
        var temp = "tmp/" + TempName();
        string sha256;
        long size;
        using (var target = Beneath.Open(root, temp, Beneath.O_RDWR | Beneath.O_CREAT | Beneath.O_EXCL | Beneath.O_NOFOLLOW, 0x180, noSymlinks: true))
        {
            // The copy (in the kernel where it can) and the hash of what it wrote (one more read, from
            // the page cache) run side by side: a blob costs about what `cp` does, not a copy plus a
            // hash, and its name is always its content's hash. A file that did not stand still
            // meanwhile (its size, mtime or ctime moved) is not kept torn: it is looked at again.
            var before = At.Stat(source, "");
            try
            {
                BlobContent.CheckSize(before.Size, MaxBytes);
                (sha256, size) = await BlobContent.CopyAndHashAsync(source, target, MaxBytes, cancellationToken).ConfigureAwait(false);
                var after = At.Stat(source, "");
                if (after.Size != before.Size || after.MtimeNs != before.MtimeNs || after.CtimeNs != before.CtimeNs)
                {
                    throw new ArtifactException(ErrorCodes.ArtifactStoreUnavailable, "The file changed while it was being kept; it is kept again at the next look.");
                }
            }
            catch
            {
                // Nothing half-written stays behind a refusal (too large, changed, a failed read).
                using (var tmp = Beneath.Open(root, "tmp", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true))
                {
                    At.Unlink(tmp, temp[4..]);
                }
                throw;
            }
            At.Chmod(target, ReadOnlyFile);
            At.Sync(target);
        }
        var shard = "blobs/" + sha256[..2];
        using (var blobs = Beneath.Open(root, "blobs", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true))
        {
            TryMakeDirectory(blobs, sha256[..2]);
        }
        using (var tmp = Beneath.Open(root, "tmp", Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true))
        using (var shardDir = Beneath.Open(root, shard, Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true))
        {
            try
            {
                At.Rename(tmp, temp[4..], shardDir, sha256, noReplace: true);
            }
            catch (LinuxException e) when (e.Errno == Errno.EEXIST)
            {
                At.Unlink(tmp, temp[4..]);   // the same content is stored already: once is enough
            }
        }
        return new BlobRef(sha256, size);
    }

    public Task<Stream> OpenAsync(string sha256, CancellationToken cancellationToken)
    {
        using var root = OpenRoot();
        return Task.FromResult<Stream>(new FileStream(OpenBlob(root, sha256), FileAccess.Read, bufferSize: 1 << 16, isAsync: false));
    }

    public Uri? PresignedUrl(string sha256, string fileName, TimeSpan expiry) => null;

    /// <summary>A blob opened for reading (or linking); artifact_not_found when absent.</summary>
    private static SafeFileHandle OpenBlob(SafeFileHandle root, string sha256)
    {
        if (!BlobRef.IsValid(sha256))
        {
            throw NotFound($"'{sha256}' is not a SHA-256 in hex");
        }
        try
        {
            return Beneath.Open(root, $"blobs/{sha256[..2]}/{sha256}", Beneath.O_RDONLY | Beneath.O_NOFOLLOW, noSymlinks: true);
        }
        catch (LinuxException e) when (e.Errno == Errno.ENOENT)
        {
            throw NotFound($"the store holds no blob {sha256}");
        }
    }

    /// <summary>The store's root, opened again and checked to be the directory it was at start.</summary>
    private SafeFileHandle OpenRoot()
    {
        var root = Beneath.OpenRoot(Root);
        if (IdentityOf(root) != _rootIdentity)
        {
            root.Dispose();
            throw new ArtifactException(ErrorCodes.ArtifactRootChanged,
                $"The artifact store's directory {Root} is not the one the daemon started with (it was replaced or moved): nothing was written or deleted. Put it back, or restart the daemon.");
        }
        return root;
    }

    private static SetIdentity IdentityOf(SafeFileHandle handle)
    {
        var status = At.Stat(handle, "");
        return new SetIdentity(status.Device, status.Inode);
    }

    private static void TryMakeDirectory(SafeFileHandle parent, string name)
    {
        try
        {
            At.MakeDirectory(parent, name, OwnerOnly);
        }
        catch (LinuxException e) when (e.Errno == Errno.EEXIST)
        {
            // Made by a concurrent put.
        }
    }

    private static string TempName() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    private static ArtifactException NotFound(string why) => new(ErrorCodes.ArtifactNotFound, $"No such artifact: {why}.");
}
