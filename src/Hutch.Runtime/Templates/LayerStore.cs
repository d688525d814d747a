using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Runtime.Templates;

/// <summary>What a layer added to the store holds.</summary>
/// <param name="Digest">Its diff_id: "sha256:" and the hex sha256 of its uncompressed tar stream.</param>
/// <param name="Bytes">Bytes of regular file content in it.</param>
/// <param name="Files">Entries made for it: directories, files, links, FIFOs, whiteouts and opaque markers.</param>
/// <param name="Warnings">What was left out and why (device nodes); empty for most layers.</param>
public sealed record LayerInfo(string Digest, long Bytes, long Files, IReadOnlyList<string> Warnings);

/// <summary>
/// Content-addressed, read-only image layers on disk, each a directory <c>sha256-&lt;hex&gt;</c> in
/// overlayfs's own form, usable as an overlay lowerdir as it is: whiteouts are character devices
/// 0:0, opaque directories carry trusted.overlay.opaque = "y", owners are the sandbox's ids
/// (0-65535), no setuid or setgid bit, no device node, no xattr from the image. A layer is extracted
/// into a private temporary directory in the store and renamed to its digest only once whole and on
/// disk, so a digest's directory is always complete, and a refused or failed layer leaves nothing.
/// Every entry is treated as hostile (see <see cref="LayerWriter"/>; docs/design/0012-templates-layers.md).
/// Which layers are still used is its owner's business: it lists and deletes, it does not count;
/// but it closes the race between adding a layer and removing unused ones (see <see cref="Lease"/>).
/// </summary>
/// <remarks>
/// <para>
/// <b>Adds against removals.</b> A layer is in use when its owner's records name it (a template, a
/// build cache entry). Between the moment a layer is stored (or found stored) and the moment its
/// importer records it, nothing names it yet, and <see cref="RemoveUnused"/> must not take it. So
/// each import or build holds a <see cref="LayerLease"/> for its whole run: every layer it adds, or
/// finds stored and reuses, is pinned to the lease, and the pin is made in the same critical
/// section (one lock, <c>_gate</c>) as the rename that makes the layer visible or the check that
/// finds it. <see cref="RemoveUnused"/> decides under that lock too: it reads what the owner's
/// records name and every open lease's pins, and renames the rest away, all inside it. A lease is
/// let go (under the lock) only after its importer recorded the layers. So at any moment a stored
/// layer is named by a record, pinned, or garbage, and a removal sees which; no add waits longer
/// than a removal's renames, and a removal never waits for a long import (the trees are deleted
/// after the lock is released, under their <c>.del-</c> names).
/// </para>
/// </remarks>
public sealed class LayerStore
{
    /// <summary>The lock of the add/remove race (see the remarks): held only for renames, checks and pin updates.</summary>
    private readonly Lock _gate = new();
    private readonly HashSet<LayerLease> _leases = [];

    private const string TemporaryPrefix = ".tmp-";
    private const string DeletingPrefix = ".del-";
    internal const string SpoolPrefix = ".spool-";
    private const int PrivateMode = 0x1c0;   // 0700: nothing but the daemon reaches a layer by this path

    /// <summary>Opens (and makes, 0700, if missing) the store at <paramref name="root"/>; it must be on a file system with trusted xattrs and device nodes (ext4, XFS, btrfs).</summary>
    public LayerStore(string root)
    {
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Root, (UnixFileMode)PrivateMode);
    }

    public string Root { get; }

    /// <summary>True when the layer is stored (whole: a digest's directory only appears complete).</summary>
    public bool Has(string digest) => Has(digest, lease: null);

    /// <summary>
    /// True when the layer is stored; then it is pinned to <paramref name="lease"/> in the same step,
    /// so no <see cref="RemoveUnused"/> takes it before the caller has recorded it.
    /// </summary>
    public bool Has(string digest, LayerLease? lease)
    {
        var name = LayerDigest.DirectoryName(digest);
        using var root = OpenRoot();
        lock (_gate)
        {
            var stored = At.TryStat(root, name) is { Kind: EntryKind.Directory };
            if (stored)
            {
                lease?.PinLocked(digest);
            }
            return stored;
        }
    }

    /// <summary>
    /// Pins for one import or build: the layers it adds or reuses stay stored until it is disposed
    /// (by then its owner has recorded them). Dispose it once the records are written.
    /// </summary>
    public LayerLease Lease()
    {
        lock (_gate)
        {
            var lease = new LayerLease(this);
            _leases.Add(lease);
            return lease;
        }
    }

    /// <summary>
    /// Removes every stored layer that <paramref name="inUse"/> does not name and no open lease pins,
    /// and returns what it removed. <paramref name="inUse"/> is read under the same lock as the
    /// pins (see the remarks), so it must be quick (one query); the trees are deleted after the lock.
    /// </summary>
    public LayerRemoval RemoveUnused(Func<IReadOnlySet<string>> inUse)
    {
        ArgumentNullException.ThrowIfNull(inUse);
        var doomed = new List<(string Digest, string Name)>();
        using (var root = OpenRoot())
        {
            lock (_gate)
            {
                var keep = new HashSet<string>(inUse(), StringComparer.Ordinal);
                foreach (var lease in _leases)
                {
                    keep.UnionWith(lease.Pinned);
                }
                foreach (var digest in List().Where(d => !keep.Contains(d)))
                {
                    var name = DeletingPrefix + RandomSuffix();
                    At.Rename(root, LayerDigest.DirectoryName(digest), root, name, noReplace: true);
                    doomed.Add((digest, name));
                }
            }
        }
        long bytes = 0;
        foreach (var (_, name) in doomed)
        {
            bytes += TreeBytes(Path.Join(Root, name));
            TreeRemover.Delete(Path.Join(Root, name));
        }
        return new LayerRemoval([.. doomed.Select(d => d.Digest)], bytes);
    }

    /// <summary>Bytes of regular file content under a directory the daemon made (no link followed; a hard link's file counted each time).</summary>
    private static long TreeBytes(string directory)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true, ReturnSpecialDirectories = false };
        return new DirectoryInfo(directory).EnumerateFiles("*", options).Where(f => f.LinkTarget is null).Sum(f => f.Length);
    }

    internal void Release(LayerLease lease)
    {
        lock (_gate)
        {
            _leases.Remove(lease);
        }
    }

    internal void Pin(LayerLease lease, string digest)
    {
        lock (_gate)
        {
            lease.PinLocked(digest);
        }
    }

    /// <summary>The layer's directory, an overlayfs lowerdir as it is (whether or not it is stored).</summary>
    /// <exception cref="ArgumentException">Not a sha256 digest.</exception>
    public string PathOf(string digest) => Path.Join(Root, LayerDigest.DirectoryName(digest));

    /// <summary>Every stored layer's digest, in order.</summary>
    public IReadOnlyList<string> List()
    {
        using var root = OpenRoot(readable: true);
        return [.. At.ReadDirectory(root)
            .Where(entry => entry.Kind == EntryKind.Directory)
            .Select(entry => LayerDigest.FromDirectoryName(entry.Name))
            .OfType<string>()
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Deletes a layer; false when it was not stored. It is renamed away first, so its digest never
    /// names a half-deleted directory. The caller makes sure no template and no mount uses it.
    /// </summary>
    public bool Delete(string digest)
    {
        var name = LayerDigest.DirectoryName(digest);
        var doomed = DeletingPrefix + RandomSuffix();
        using (var root = OpenRoot())
        {
            try
            {
                At.Rename(root, name, root, doomed, noReplace: true);
            }
            catch (LinuxException e) when (e.Errno == Errno.ENOENT)
            {
                return false;
            }
        }
        TreeRemover.Delete(Path.Join(Root, doomed));
        return true;
    }

    /// <summary>
    /// Deletes what interrupted adds, deletes and imports left (a daemon killed mid-way): their
    /// temporary directories. Call it at startup, before any add: it would delete an add in flight.
    /// Returns how many it removed.
    /// </summary>
    public int RemoveLeftovers()
    {
        using var root = OpenRoot(readable: true);
        var removed = 0;
        foreach (var entry in At.ReadDirectory(root))
        {
            if (entry.Name.StartsWith(TemporaryPrefix, StringComparison.Ordinal) || entry.Name.StartsWith(DeletingPrefix, StringComparison.Ordinal)
                || entry.Name.StartsWith(SpoolPrefix, StringComparison.Ordinal))
            {
                TreeRemover.Delete(Path.Join(Root, entry.Name));
                removed++;
            }
        }
        return removed;
    }

    /// <summary>
    /// Adds the layer in <paramref name="layerTar"/>: a tar stream, plain or gzip-compressed (found by
    /// its magic bytes; zstd, xz and bzip2 are refused with layer_unsupported), read once from front to
    /// back. Its digest is the sha256 of the uncompressed tar (the OCI diff_id). When the store has
    /// that layer already, the stored one is kept and this copy deleted.
    /// </summary>
    /// <exception cref="TemplateException">
    /// The layer was refused (layer_invalid_path, layer_through_link, layer_link_outside,
    /// layer_too_large, layer_invalid, layer_unsupported) or the disk is full (disk_full); nothing of it is left.
    /// </exception>
    public Task<LayerInfo> AddAsync(Stream layerTar, LayerLimits limits, CancellationToken cancellationToken = default) =>
        AddAsync(layerTar, limits, expectedDigest: null, lease: null, cancellationToken);

    /// <inheritdoc cref="AddAsync(Stream, LayerLimits, string?, LayerLease?, CancellationToken)"/>
    public Task<LayerInfo> AddAsync(Stream layerTar, LayerLimits limits, string? expectedDigest, CancellationToken cancellationToken = default) =>
        AddAsync(layerTar, limits, expectedDigest, lease: null, cancellationToken);

    /// <summary>
    /// Like <see cref="AddAsync(Stream, LayerLimits, CancellationToken)"/>, and when
    /// <paramref name="expectedDigest"/> is given, refuses (layer_digest_mismatch) a layer whose
    /// diff_id is another, before anything is stored under either digest. With a
    /// <paramref name="lease"/>, the layer is pinned to it as it becomes visible (see the remarks).
    /// </summary>
    public async Task<LayerInfo> AddAsync(Stream layerTar, LayerLimits limits, string? expectedDigest, LayerLease? lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layerTar);
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        if (expectedDigest is not null && !LayerDigest.IsValid(expectedDigest))
        {
            throw new ArgumentException($"'{expectedDigest}' is not a sha256 digest", nameof(expectedDigest));
        }
        using var root = OpenRoot();
        var temporary = TemporaryPrefix + RandomSuffix();
        At.MakeDirectory(root, temporary, PrivateMode);
        try
        {
            LayerInfo info;
            using (var layer = Beneath.Open(root, temporary, Beneath.O_PATH | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true))
            {
                info = await LayerExtractor.ExtractAsync(layerTar, layer, limits, cancellationToken).ConfigureAwait(false);
                if (expectedDigest is not null && info.Digest != expectedDigest)
                {
                    throw new TemplateException(TemplateErrorCodes.LayerDigestMismatch,
                        $"the layer's uncompressed tar has the digest {info.Digest}, not {expectedDigest} as the image says; the archive is damaged or was altered");
                }
                // On disk before it gets its name: a digest's directory is never a half-written one, not even after a crash.
                using var syncing = Beneath.Open(root, temporary, Beneath.O_RDONLY | Beneath.O_DIRECTORY | Beneath.O_NOFOLLOW, noSymlinks: true);
                At.SyncFileSystem(syncing);
            }
            var storedAlready = false;
            lock (_gate)
            {
                try
                {
                    At.Rename(root, temporary, root, LayerDigest.DirectoryName(info.Digest), noReplace: true);
                }
                catch (LinuxException e) when (e.Errno is Errno.EEXIST or Errno.ENOTEMPTY)
                {
                    // Stored already (another image, or an add that ran at the same time): that one wins.
                    storedAlready = true;
                }
                lease?.PinLocked(info.Digest);
            }
            if (storedAlready)
            {
                TreeRemover.Delete(Path.Join(Root, temporary));
                return info;
            }
            using (var syncing = OpenRoot(readable: true))
            {
                At.Sync(syncing);
            }
            return info;
        }
        catch
        {
            RemoveQuietly(temporary);
            throw;
        }
    }

    /// <summary>
    /// Adds a layer made from a directory in overlayfs's form (a build step's upper directory:
    /// whiteouts as character devices 0:0, opaque directories by trusted.overlay.opaque). The
    /// directory is walked by fds without following a link, written as a canonical tar (names in
    /// ordinal order, pax headers, whiteouts and opaque markers as OCI names, hard links kept) and
    /// that tar is added by <see cref="AddAsync(Stream, LayerLimits, CancellationToken)"/>, so a
    /// step's output meets the same rules as an image's layer (its setuid bits, devices and
    /// capabilities go too) and its digest is a real diff_id, the same for the same tree. The
    /// directory is read, not moved, so it may be on another file system; it must not change meanwhile.
    /// </summary>
    /// <param name="sourceDirectory">The directory (trusted path; its content is not).</param>
    /// <param name="limits">As for an image layer.</param>
    /// <param name="hostIdBase">
    /// The host id the sandbox's id 0 was mapped to when it wrote the directory: owners are shifted
    /// back by it (0 when the upper directory was written through an idmapped mount); owners
    /// outside the sandbox's 65536 ids become nobody (65534).
    /// </param>
    /// <exception cref="TemplateException">
    /// As for a tar, and layer_unsupported for an overlayfs feature a layer cannot carry (a redirect
    /// or metacopy xattr: mount build overlays with redirect_dir=off and metacopy=off).
    /// </exception>
    public Task<LayerInfo> AddDirectoryAsync(string sourceDirectory, LayerLimits limits, int hostIdBase = 0, CancellationToken cancellationToken = default) =>
        AddDirectoryAsync(sourceDirectory, limits, hostIdBase, lease: null, cancellationToken);

    /// <inheritdoc cref="AddDirectoryAsync(string, LayerLimits, int, CancellationToken)"/>
    /// <param name="lease">Pins the layer as it becomes visible (see the remarks).</param>
    public async Task<LayerInfo> AddDirectoryAsync(string sourceDirectory, LayerLimits limits, int hostIdBase, LayerLease? lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sourceDirectory);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentOutOfRangeException.ThrowIfNegative(hostIdBase);
        limits.Validate();
        // A pipe between the walk (which writes the tar) and the extraction (which reads it): the
        // tar never exists whole, in memory or on disk. Writes block while the pipe holds 1 MiB.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19, useSynchronizationContext: false));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var walk = new DirectoryTar(sourceDirectory, hostIdBase, stop.Token);
        var producer = Task.Run(() =>
        {
            try
            {
                using (var output = pipe.Writer.AsStream(leaveOpen: true))
                {
                    walk.Write(output);
                }
                pipe.Writer.Complete();
            }
            catch (Exception e)
            {
                pipe.Writer.Complete(e);
                throw;
            }
        }, CancellationToken.None);
        LayerInfo info;
        try
        {
            using var input = pipe.Reader.AsStream(leaveOpen: true);
            info = await AddAsync(input, limits, expectedDigest: null, lease, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception consumerError)
        {
            // Stop the walk, then report what went wrong first: a walk's own failure reaches the
            // extraction as a broken stream, which would hide its reason.
            await stop.CancelAsync().ConfigureAwait(false);
            await pipe.Reader.CompleteAsync().ConfigureAwait(false);
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (Exception producerError) when (producerError is not OperationCanceledException && !ReferenceEquals(producerError, consumerError))
            {
                ExceptionDispatchInfo.Throw(producerError);
            }
            catch (Exception)
            {
                // It ended because of the extraction's failure (the pipe closed, the walk cancelled).
            }
            throw;
        }
        finally
        {
            await pipe.Reader.CompleteAsync().ConfigureAwait(false);
        }
        await producer.ConfigureAwait(false);
        return walk.Warnings.Count == 0 ? info : info with { Warnings = [.. walk.Warnings, .. info.Warnings] };
    }

    /// <summary>The diff_id of a layer blob (plain or gzip), read whole but not extracted: to check a stored layer against an image.</summary>
    internal static Task<string> DigestAsync(Stream layerTar, LayerLimits limits, CancellationToken cancellationToken) =>
        LayerExtractor.DigestAsync(layerTar, limits, cancellationToken);

    /// <summary>A new private directory in the store for spooling an image archive's blobs (same file system as the layers).</summary>
    internal string NewSpoolDirectory()
    {
        var path = Path.Join(Root, SpoolPrefix + RandomSuffix());
        Directory.CreateDirectory(path, (UnixFileMode)PrivateMode);
        return path;
    }

    private SafeFileHandle OpenRoot(bool readable = false)
    {
        if (!readable)
        {
            return Beneath.OpenRoot(Root);
        }
        using var root = Beneath.OpenRoot(Root);
        return Beneath.Open(root, "", Beneath.O_RDONLY | Beneath.O_DIRECTORY);
    }

    private void RemoveQuietly(string name)
    {
        try
        {
            TreeRemover.Delete(Path.Join(Root, name));
        }
        catch (IOException)
        {
            // Left for RemoveLeftovers at the next start; the refusal is what the caller needs to hear.
        }
    }

    private static string RandomSuffix() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}

/// <summary>What <see cref="LayerStore.RemoveUnused"/> removed: the layers' digests and their files' bytes.</summary>
public sealed record LayerRemoval(IReadOnlyList<string> Layers, long Bytes);

/// <summary>
/// The layers one import or build added or reuses, kept from <see cref="LayerStore.RemoveUnused"/>
/// until it is disposed (see <see cref="LayerStore"/>'s remarks). Thread-safe.
/// </summary>
public sealed class LayerLease : IDisposable
{
    private readonly LayerStore _store;
    private int _disposed;

    internal LayerLease(LayerStore store) => _store = store;

    /// <summary>Read and written under the store's lock only.</summary>
    internal HashSet<string> Pinned { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Pins a layer the caller is about to use by name (a template's, a build cache entry's): from now
    /// on it stays, if it is stored now. One a removal took before this is gone; the caller finds it missing.
    /// </summary>
    public void Pin(string digest) => _store.Pin(this, digest);

    internal void PinLocked(string digest) => Pinned.Add(digest);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _store.Release(this);
        }
    }
}
