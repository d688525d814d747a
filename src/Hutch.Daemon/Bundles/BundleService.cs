using System.Text;
using Hutch.Daemon.Registry;
using Hutch.Linux;
using Hutch.Runtime.Bundles;
using Hutch.Runtime.Templates;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Bundles;

/// <summary>
/// Bundles (docs/bundles.md): named, immutable, versioned read-only trees, mounted into sandboxes.
/// Every sandbox binds a host directory of its own as /bundles (rslave, under a host directory the
/// daemon made a shared mount); mounting a bundle is one read-only bind mount on the host into that
/// directory, which propagation carries into the running sandbox. So a bundle comes into a pooled
/// sandbox as it is claimed, or into any running one, without a restart; a switch puts the new
/// version beneath the old one and detaches the old one, so the path is never empty.
/// </summary>
public sealed class BundleService : ISandboxSetting, ISandboxObserver
{
    /// <summary>Most bundles one sandbox mounts.</summary>
    public const int MaxPerSandbox = 32;

    /// <summary>Where a bundle may not go: what Hutch mounts itself, and what a sandbox needs to work.</summary>
    private static readonly string[] Reserved =
    [
        "/workspace", "/proc", "/dev", "/tmp", "/usr", "/etc", "/.hutch", "/run/secrets", "/home/user", "/root", "/sys",
        "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
    ];

    private readonly BundleStore _store;
    private readonly BundleTrees _trees;
    private readonly SandboxDirectory _directory;
    private readonly HutchOptions _options;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public BundleService(BundleStore store, BundleTrees trees, SandboxDirectory directory, HutchOptions options, ILogger log)
    {
        (_store, _trees, _directory, _options, _log) = (store, trees, directory, options, log);
    }

    private SandboxPaths Paths => _directory.Paths;

    /// <summary>
    /// Makes the host's bundle mount directory a shared mount (kept when a previous daemon made it:
    /// running sandboxes' bundles live in it), and, for a daemon, clears what a killed one left in the store.
    /// </summary>
    public void Start(bool daemon)
    {
        Directory.CreateDirectory(Paths.BundleMounts);
        File.SetUnixFileMode(Paths.BundleMounts, SearchOnly);
        // The store is the daemon's alone: sandboxes see its trees only through their mounts.
        File.SetUnixFileMode(Path.GetDirectoryName(_trees.Root)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        PropagatedMounts.EnsureShared(Paths.BundleMounts);
        if (daemon)
        {
            _trees.RemoveLeftovers(_store.Has);
        }
    }

    /// <summary>Detaches the shared mount when no sandbox is left that could use it (a clean stop).</summary>
    public void Stop(int sandboxesKnown)
    {
        if (sandboxesKnown == 0 && !Directory.EnumerateFileSystemEntries(Paths.BundleMounts).Any())
        {
            PropagatedMounts.Unmount(Paths.BundleMounts);
        }
    }

    // --- the store ---

    /// <summary>Makes the next version of a bundle from a tar (plain or gzip); a refused or failed push leaves no version.</summary>
    public async Task<BundlePushResult> PushAsync(string? name, Stream tar, CancellationToken cancellationToken)
    {
        BundleStore.CheckName(name);
        var limits = new LayerLimits(MaxBytes: _options.BundleMaxBytes, MaxEntries: _options.BundleMaxEntries);
        BundleTree tree;
        try
        {
            tree = await _trees.StageAsync(tar, limits, cancellationToken).ConfigureAwait(false);
        }
        catch (BundleException e)
        {
            throw new HutchException(e.Code, e.Message, e);
        }
        await _gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            var version = _store.NextVersion(name!);
            try
            {
                _trees.Commit(tree, name!, version);
            }
            catch
            {
                _trees.Discard(tree);
                throw;
            }
            try
            {
                _store.Add(name!, version, tree.Digest, tree.Files, tree.Bytes);
            }
            catch
            {
                _trees.Delete(name!, version);
                throw;
            }
            Log.BundlePushed(_log, name!, version, tree.Files, tree.Bytes, tree.NewBlobs);
            return new BundlePushResult(name!, version, tree.Digest, tree.Files, tree.Bytes, tree.NewBlobs, tree.Warnings.Count == 0 ? null : [.. tree.Warnings]);
        }
        finally
        {
            _gate.Release();
        }
    }

    public BundleList List() =>
        new([.. _store.List().GroupBy(v => v.Name, StringComparer.Ordinal).Select(g => Info(g.Key, [.. g]))]);

    public BundleInfo Get(string name)
    {
        BundleStore.CheckName(name);
        var versions = _store.Versions(name);
        return versions.Count == 0 ? throw NoBundle(name) : Info(name, versions);
    }

    /// <summary>Deletes a version (or every version); refused while a sandbox mounts it (bundle_in_use, naming them).</summary>
    public async Task DeleteAsync(string name, string? version)
    {
        BundleStore.CheckName(name);
        var number = version is null ? null : BundleStore.ParseVersion(version);
        if (version == BundleLocations.Latest)
        {
            throw new HutchException(ErrorCodes.InvalidBundle, "version: give a version number to delete, or none to delete every version");
        }
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            IReadOnlyList<BundleVersionRecord> doomed = number is null ? _store.Versions(name) : [_store.Get(name, number)];
            if (doomed.Count == 0)
            {
                throw NoBundle(name);
            }
            var users = doomed.SelectMany(v => _store.SandboxesUsing(v.Name, v.Version).Select(id => $"{id} ({v.Name}@{v.Version})")).ToList();
            if (users.Count > 0)
            {
                throw new HutchException(ErrorCodes.BundleInUse,
                    $"sandboxes mount it: {string.Join(", ", users)}. Switch them to another version (`hutch bundle use ID {name}@VERSION`) or delete them first");
            }
            foreach (var v in doomed)
            {
                _store.Remove(v.Name, v.Version);
                _trees.Delete(v.Name, v.Version);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private BundleInfo Info(string name, IReadOnlyList<BundleVersionRecord> versions) => new(name, versions[^1].Version,
        [.. versions.Select(v => new BundleVersionInfo(v.Version, v.Digest, v.CreatedAt, v.Files, v.Bytes, [.. _store.SandboxesUsing(v.Name, v.Version)]))]);

    private static HutchException NoBundle(string name) =>
        new(ErrorCodes.BundleNotFound, $"no bundle named '{name}': `hutch bundle ls` lists them, `hutch bundle push DIR --name {name}` makes one");

    // --- a sandbox's mounts ---

    public void Validate(CreateSandboxRequest request)
    {
        if (request.Bundles is not { } bundles)
        {
            return;
        }
        if (bundles.Length > MaxPerSandbox)
        {
            throw new HutchException(ErrorCodes.InvalidBundle, $"bundles: {bundles.Length} bundles, more than the {MaxPerSandbox} a sandbox may mount");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        var paths = new List<string>();
        for (var i = 0; i < bundles.Length; i++)
        {
            var field = $"bundles[{i}]";
            var mount = bundles[i] ?? throw new HutchException(ErrorCodes.InvalidBundle, $"{field}: give {{\"name\": …}}, not null");
            BundleStore.CheckName(mount.Name, $"{field}.name");
            var version = BundleStore.ParseVersion(mount.Version, $"{field}.version");
            var path = CheckPath(BundleLocations.PathOf(mount), $"{field}.path", hostRoot: request.Template is null, atCreate: true);
            if (!names.Add(mount.Name))
            {
                throw new HutchException(ErrorCodes.InvalidBundle, $"{field}.name: bundle '{mount.Name}' is mounted twice; a sandbox mounts each bundle once");
            }
            if (paths.FirstOrDefault(p => Overlaps(p, path)) is { } other)
            {
                throw new HutchException(ErrorCodes.InvalidBundle, $"{field}.path: '{path}' overlaps '{other}', another bundle's path; give each bundle a path of its own");
            }
            paths.Add(path);
            // Before anything starts: a missing bundle or version is refused at once (404), not after a cold start.
            _store.Get(mount.Name, version);
        }
    }

    public async Task<SandboxRecord> ApplyAsync(SandboxRecord record, CreateSandboxRequest request, CancellationToken cancellationToken)
    {
        if (request.Bundles is not { Length: > 0 } bundles)
        {
            return record;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var mounted = new List<BundleMountRecord>();
            foreach (var mount in bundles)
            {
                // "latest" is what is newest now, at mount time.
                var version = _store.Get(mount.Name, BundleStore.ParseVersion(mount.Version));
                var path = BundleLocations.PathOf(mount);
                var target = HostTarget(record, path);
                PropagatedMounts.MakeMountPoint(target);
                PropagatedMounts.MountReadOnly(_trees.TreeOf(version.Name, version.Version), target);
                mounted.Add(new BundleMountRecord(record.Id, mount.Name, version.Version, path));
            }
            _store.SetMounts(mounted);
            return record;
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task UpdateAsync(SandboxRecord record, UpdateSandboxRequest request, CancellationToken cancellationToken) => Task.CompletedTask;

    public SandboxInfo Describe(SandboxInfo info) =>
        _store.Mounts(info.Id) is { Count: > 0 } mounts ? info with { Bundles = [.. mounts.Select(m => new SandboxBundleInfo(m.Name, m.Version, m.Path))] } : info;

    /// <summary>
    /// Mounts a bundle in a running sandbox, or switches the one it mounts to another version without
    /// a restart: the new version goes beneath the old one, then the old one is detached. A process
    /// that holds an old file open keeps reading it; a new open sees the new version; the path is never empty.
    /// </summary>
    public async Task<SandboxBundleInfo> SetAsync(string idOrName, string name, SetSandboxBundleRequest request, CancellationToken cancellationToken)
    {
        BundleStore.CheckName(name);
        var wanted = BundleStore.ParseVersion(request.Version);
        var record = (await _directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false)).Record;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var version = _store.Get(name, wanted);
            var current = _store.Mounts(record.Id).FirstOrDefault(m => m.Name == name);
            if (current is not null)
            {
                if (request.Path is not null && request.Path != current.Path)
                {
                    throw new HutchException(ErrorCodes.InvalidBundle,
                        $"path: bundle '{name}' is mounted at {current.Path}; a mounted bundle keeps its path (unmount it first to mount it elsewhere under /bundles)");
                }
                if (current.Version != version.Version)
                {
                    PropagatedMounts.Replace(_trees.TreeOf(name, version.Version), HostTarget(record, current.Path));
                    _store.SetMounts([current with { Version = version.Version }]);
                    Log.BundleSwitched(_log, record.Id, name, current.Version, version.Version);
                }
                return new SandboxBundleInfo(name, version.Version, current.Path);
            }
            var path = CheckPath(request.Path ?? BundleLocations.DefaultPath(name), "path", hostRoot: record.Template is null, atCreate: false);
            if (_store.Mounts(record.Id).FirstOrDefault(m => Overlaps(m.Path, path)) is { } other)
            {
                throw new HutchException(ErrorCodes.InvalidBundle, $"path: '{path}' is where bundle '{other.Name}' is mounted; give another path");
            }
            if (_store.Mounts(record.Id).Count >= MaxPerSandbox)
            {
                throw new HutchException(ErrorCodes.InvalidBundle, $"the sandbox mounts {MaxPerSandbox} bundles already, the most it may");
            }
            var target = HostTarget(record, path);
            PropagatedMounts.MakeMountPoint(target);
            PropagatedMounts.MountReadOnly(_trees.TreeOf(name, version.Version), target);
            _store.SetMounts([new BundleMountRecord(record.Id, name, version.Version, path)]);
            return new SandboxBundleInfo(name, version.Version, path);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Unmounts a bundle from a running sandbox (a process holding one of its files open keeps reading it).</summary>
    public async Task RemoveAsync(string idOrName, string name, CancellationToken cancellationToken)
    {
        BundleStore.CheckName(name);
        var record = (await _directory.LiveAsync(idOrName, cancellationToken).ConfigureAwait(false)).Record;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = _store.Mounts(record.Id).FirstOrDefault(m => m.Name == name)
                ?? throw new HutchException(ErrorCodes.BundleNotFound, $"sandbox {record.Id} mounts no bundle named '{name}': GET /v1/sandboxes/{record.Id} lists its bundles");
            var target = HostTarget(record, current.Path);
            PropagatedMounts.UnmountAllUnder(target);
            PropagatedMounts.Unmount(target);
            if (BundleLocations.IsUnderRoot(current.Path))
            {
                Directory.Delete(target);
            }
            _store.RemoveMounts(record.Id, name);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// A restarted daemon found the sandbox running: its bundle mounts are the host's and outlived the
    /// old daemon; one that is missing (its tree's mount was removed by hand) is mounted again.
    /// </summary>
    public void Adopted(SandboxRecord record)
    {
        foreach (var mount in _store.Mounts(record.Id))
        {
            var target = HostTarget(record, mount.Path);
            if (!PropagatedMounts.IsMounted(target) && _trees.Has(mount.Name, mount.Version))
            {
                PropagatedMounts.MakeMountPoint(target);
                PropagatedMounts.MountReadOnly(_trees.TreeOf(mount.Name, mount.Version), target);
            }
        }
    }

    public async Task DeletingAsync(string sandboxId)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var dir = Path.Join(Paths.BundleMounts, sandboxId);
            if (Directory.Exists(dir))
            {
                PropagatedMounts.UnmountAllUnder(dir);
            }
            _store.RemoveMounts(sandboxId);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The host directory a bundle at <paramref name="path"/> is mounted on: in the sandbox's /bundles, or its own mount point's.</summary>
    private string HostTarget(SandboxRecord record, string path)
    {
        if (BundleLocations.IsUnderRoot(path))
        {
            return Path.Join(Paths.BundleRoot(record.Id), path[(BundleLocations.Root.Length + 1)..]);
        }
        var index = Array.IndexOf(record.MountPoints ?? [], path);
        return index >= 0 ? Paths.BundleAt(record.Id, index)
            : throw new HutchException(ErrorCodes.InvalidBundle, $"path: '{path}' is not under {BundleLocations.Root}, and only a create can give a bundle a path of its own");
    }

    /// <summary>
    /// Checks a bundle's path: absolute and plain (no "." or "..", no empty part, no trailing "/"),
    /// directly under /bundles, or elsewhere at create only: not at, under or above a place Hutch
    /// mounts itself or a sandbox needs (<see cref="Reserved"/>), and on the host's read-only root
    /// only under /opt or /mnt (where the sandbox gets a tmpfs of its own for the mount point).
    /// </summary>
    internal static string CheckPath(string path, string field, bool hostRoot, bool atCreate)
    {
        string Refuse(string why) => throw new HutchException(ErrorCodes.InvalidBundle, $"{field}: '{BundleStore.Shown(path)}' {why}");
        if (path.Length == 0 || path[0] != '/')
        {
            return Refuse("is not an absolute path inside the sandbox (e.g. /bundles/skills, /opt/skills)");
        }
        if (path.Contains('\0') || Encoding.UTF8.GetByteCount(path) > 1024)
        {
            return Refuse("has a NUL byte or is longer than 1024 bytes");
        }
        var parts = path[1..].Split('/');
        if (parts.Any(p => p is "" or "." or ".." || Encoding.UTF8.GetByteCount(p) > 255))
        {
            return Refuse("is not a plain path: no '.' or '..', no empty part or trailing '/', names of at most 255 bytes");
        }
        if (BundleLocations.IsUnderRoot(path))
        {
            return path;
        }
        if (path == BundleLocations.Root || path.StartsWith(BundleLocations.Root + "/", StringComparison.Ordinal))
        {
            return Refuse($"is {BundleLocations.Root} itself or more than one name below it; use {BundleLocations.Root}/NAME");
        }
        if (!atCreate)
        {
            return Refuse($"is not under {BundleLocations.Root}: a running sandbox mounts bundles only there (a path of its own is given at create)");
        }
        if (Reserved.FirstOrDefault(r => Overlaps(r, path)) is { } reserved)
        {
            return Refuse($"is at, under or above {reserved}, which the sandbox needs for itself; use {BundleLocations.Root}/NAME or a path such as /opt/NAME");
        }
        if (hostRoot && parts[0] is not ("opt" or "mnt"))
        {
            return Refuse("is outside /opt and /mnt, and the host's root is read-only: without a template, a bundle of its own path goes under /opt or /mnt (or /bundles/NAME)");
        }
        return path;
    }

    /// <summary>Whether one path is the other or lies under it.</summary>
    private static bool Overlaps(string a, string b) =>
        a == b || a.StartsWith(b + "/", StringComparison.Ordinal) || b.StartsWith(a + "/", StringComparison.Ordinal);

    private const UnixFileMode SearchOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
}
