using System.Security.Cryptography;
using System.Text.Json;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// The checkpoints of one workspace: named copies of its tree that <see cref="Diff"/> compares with
/// and <see cref="Reset"/> restores, plus the baseline (the state at create or after the last import).
/// Copies are reflinks where the file system has them (XFS with reflink=1, btrfs; see
/// <see cref="WorkspaceVolume"/>), so a checkpoint costs metadata until files are changed, and only
/// the changed blocks after that; elsewhere each checkpoint is a full copy.
/// </summary>
/// <remarks>
/// Layout of the store directory (root-owned, 0700, on the workspace's file system so clones work):
/// <c>&lt;name&gt;/tree</c> (the copy) and <c>&lt;name&gt;/manifest.json</c> (what each entry was),
/// <c>&lt;name&gt;/root</c> when it holds a writable root too (a copy of its upper layer, see <see cref="UpperCopy"/>),
/// <c>.baseline/</c> the same for the baseline, and <c>.tmp-*</c>/<c>.trash-*</c> for checkpoints being
/// written or deleted. A checkpoint is built under a temp name and renamed into place, so a failed or
/// interrupted one leaves nothing behind. Operations on one store are serialized in this process.
/// </remarks>
public sealed partial class CheckpointStore : IDisposable
{
    public const int DefaultLimit = 32;

    private const string BaselineDirectory = ".baseline";
    private const string TreeDirectory = "tree";
    private const string RootDirectory = "root";
    private const string ManifestFile = "manifest.json";
    private const string InfoFile = "info.json";
    private const int OwnerOnly = 0x1c0;   // 0700

    /// <summary>Striped by store path: a daemon opens a new store per request, and all of them must agree on one lock.</summary>
    private static readonly Lock[] Locks = [.. Enumerable.Range(0, 64).Select(_ => new Lock())];

    private readonly Workspace _workspace;
    private readonly SafeFileHandle _root;
    private readonly int _limit;
    private readonly TimeProvider _time;
    private readonly Lock _lock;

    /// <param name="workspace">The workspace the checkpoints are of.</param>
    /// <param name="hostDirectory">Where its checkpoints live; created (0700) when missing. Keep it on the workspace's file system, out of every sandbox's reach.</param>
    /// <param name="limit">How many named checkpoints may exist (the baseline does not count).</param>
    public CheckpointStore(Workspace workspace, string hostDirectory, int limit = DefaultLimit, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        HostDirectory = Path.GetFullPath(hostDirectory);
        Directory.CreateDirectory(HostDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(HostDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _workspace = workspace;
        _limit = limit;
        _time = timeProvider ?? TimeProvider.System;
        _root = Beneath.OpenRoot(HostDirectory);
        _lock = Locks[(uint)StringComparer.Ordinal.GetHashCode(HostDirectory) % (uint)Locks.Length];
    }

    public string HostDirectory { get; }

    public void Dispose() => _root.Dispose();

    /// <summary>The named checkpoints, oldest first.</summary>
    public List<CheckpointInfo> List()
    {
        using var dir = Open("", NoFollow.DirectoryFlags);
        var found = new List<CheckpointInfo>();
        foreach (var entry in At.ReadDirectory(dir))
        {
            if (entry.Kind != EntryKind.Directory || entry.Name.StartsWith('.'))
            {
                continue;
            }
            try
            {
                found.Add(ReadJson(entry.Name + "/" + InfoFile, CheckpointJsonContext.Default.CheckpointInfo));
            }
            catch (LinuxException e) when (e.Errno == Errno.ENOENT)
            {
                // Deleted since the listing.
            }
        }
        return [.. found.OrderBy(c => c.CreatedAt).ThenBy(c => c.Name, StringComparer.Ordinal)];
    }

    /// <summary>Deletes a named checkpoint: it disappears at once (renamed aside), then its files are removed.</summary>
    /// <exception cref="WorkspaceException">invalid_checkpoint_name, checkpoint_not_found.</exception>
    public void Delete(string name)
    {
        CheckpointName.Validate(name);
        lock (_lock)
        {
            RequireExists(name);
            var trash = TempName(".trash-");
            Guard(name, () => At.Rename(_root, name, _root, trash, noReplace: true));
            Remove(trash);
        }
    }

    /// <summary>Removes a whole store (for a sandbox's delete); a missing one is fine.</summary>
    public static void DeleteStore(string hostDirectory)
    {
        if (!Directory.Exists(hostDirectory))
        {
            return;
        }
        using (var root = Beneath.OpenRoot(hostDirectory))
        using (var dir = Beneath.Open(root, "", NoFollow.DirectoryFlags, noSymlinks: true))
        {
            Workspace.DeleteContents(dir);
        }
        Directory.Delete(hostDirectory);
    }

    private bool Exists(string directory) => At.TryStat(_root, directory) is { Kind: EntryKind.Directory };

    private void RequireExists(string name)
    {
        if (!Exists(name))
        {
            throw new WorkspaceException(ErrorCodes.CheckpointNotFound, $"There is no checkpoint named '{name}'. List the checkpoints to see which exist.");
        }
    }

    /// <summary>Removes checkpoints that a crash left half-written or half-deleted.</summary>
    private void RemoveLeftovers()
    {
        using var dir = Open("", NoFollow.DirectoryFlags);
        foreach (var entry in At.ReadDirectory(dir))
        {
            if (entry.Name.StartsWith(".tmp-", StringComparison.Ordinal) || entry.Name.StartsWith(".trash-", StringComparison.Ordinal))
            {
                Remove(entry.Name);
            }
        }
    }

    private void Remove(string directory)
    {
        using (var dir = Open(directory, NoFollow.DirectoryFlags))
        {
            Workspace.DeleteContents(dir);
        }
        At.Unlink(_root, directory, directory: true);
    }

    private SafeFileHandle Open(string relative, int flags, int mode = 0) => Beneath.Open(_root, relative, flags, mode, noSymlinks: true);

    private T ReadJson<T>(string relative, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        using var stream = new FileStream(Open(relative, Beneath.O_RDONLY | Beneath.O_NOFOLLOW), FileAccess.Read, bufferSize: 1 << 16);
        return JsonSerializer.Deserialize(stream, type) ?? throw new InvalidDataException($"{relative} in {HostDirectory} is empty");
    }

    /// <summary>Writes a new file and flushes it to disk before the checkpoint that holds it is renamed into place.</summary>
    private void WriteJson<T>(string relative, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        var handle = Open(relative, Beneath.O_WRONLY | Beneath.O_CREAT | Beneath.O_EXCL | Beneath.O_NOFOLLOW, 0x180);
        using var stream = new FileStream(handle, FileAccess.Write, bufferSize: 1 << 16);
        JsonSerializer.Serialize(stream, value, type);
        stream.Flush(flushToDisk: true);
    }

    private static string TempName(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    private static T Guard<T>(string shown, Func<T> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is LinuxException or ContainmentException or IOException)
        {
            throw Errors.From(e, shown);
        }
    }

    private static void Guard(string shown, Action action) => Guard(shown, () =>
    {
        action();
        return 0;
    });
}
