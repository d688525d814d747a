using System.Security.Cryptography;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// Compares a sandbox's writable root with how it was (a view: a checkpoint's copy of the upper
/// layer over the template's layers, or the template alone) and, for a reset, makes it equal to it,
/// in place through the merged root. One walk does both, so a reset undoes what a diff reports.
/// </summary>
/// <remarks>
/// Only what some upper layer holds can differ: a path that neither the live upper layer nor the
/// checkpoint's copy has is the template's in both. So the walk visits the names the two upper
/// layers hold, plus, in each directory it visits, the names present on one side only (a template's
/// file hidden below an opaque directory holds no name of its own in any upper layer). A template
/// of 10,000 files with 20 changed ones costs about 20 comparisons, not 10,000.
/// The daemon pauses the sandbox around a reset; every name is still opened without following
/// links, so a symlink the sandbox planted is replaced, never followed out of the root.
/// </remarks>
internal sealed class RootReconciler
{
    private const int OwnerOnly = 0x1c0;

    private readonly IReadOnlySet<string> _mountPoints;
    private readonly bool _apply;
    private readonly CancellationToken _cancellationToken;
    private readonly SortedSet<string> _added = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _modified = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _deleted = new(StringComparer.Ordinal);

    /// <summary>The names some upper layer holds, as a tree.</summary>
    private sealed class Names
    {
        public Dictionary<string, Names> Children { get; } = new(StringComparer.Ordinal);

        /// <summary>Adds every name of an upper layer (whiteouts included: they are deletions).</summary>
        public void AddFrom(SafeFileHandle upper, CancellationToken cancellationToken)
        {
            foreach (var entry in At.ReadDirectory(upper))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (!Children.TryGetValue(entry.Name, out var child))
                {
                    Children[entry.Name] = child = new Names();
                }
                if (entry.Kind == EntryKind.Directory && NoFollow.Directory(upper, entry.Name) is { } dir)
                {
                    using (dir)
                    {
                        child.AddFrom(dir, cancellationToken);
                    }
                }
            }
        }
    }

    public RootReconciler(IReadOnlySet<string> mountPoints, bool apply, CancellationToken cancellationToken)
    {
        _mountPoints = mountPoints;
        _apply = apply;
        _cancellationToken = cancellationToken;
    }

    /// <param name="live">The merged root, opened for reading.</param>
    /// <param name="view">The root as it was, opened for reading.</param>
    /// <param name="uppers">The upper layers whose names can differ: the live one and the checkpoint's copy, if any.</param>
    public RootDiff Run(SafeFileHandle live, SafeFileHandle view, IEnumerable<SafeFileHandle> uppers)
    {
        var names = new Names();
        foreach (var upper in uppers)
        {
            Guard("/", () => names.AddFrom(upper, _cancellationToken));
        }
        Guard("/", () =>
        {
            CompareDirectory(live, view, "", names);
            if (_apply && At.Stat(live, "") is var now && At.Stat(view, "") is var then && !SameAttributes(now, then))
            {
                SetAttributes(live, then);
            }
        });
        return new RootDiff([.. _added], [.. _modified], [.. _deleted]);
    }

    /// <summary>Both sides are directories at <paramref name="relative"/>: compares the names that can differ.</summary>
    private void CompareDirectory(SafeFileHandle live, SafeFileHandle view, string relative, Names names)
    {
        TreeDepth.Check(relative);
        var liveNames = At.ReadDirectory(live).Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var viewNames = At.ReadDirectory(view).Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var candidates = new SortedSet<string>(names.Children.Keys, StringComparer.Ordinal);
        candidates.UnionWith(liveNames.Where(n => !viewNames.Contains(n)));
        candidates.UnionWith(viewNames.Where(n => !liveNames.Contains(n)));
        foreach (var name in candidates)
        {
            _cancellationToken.ThrowIfCancellationRequested();
            var path = WorkspacePath.Join(relative, name);
            if (_mountPoints.Contains("/" + path))
            {
                continue;
            }
            names.Children.TryGetValue(name, out var below);
            Guard("/" + path, () => Compare(live, view, name, path, below));
        }
    }

    private void Compare(SafeFileHandle live, SafeFileHandle view, string name, string path, Names? below)
    {
        var now = Present(live, name);
        var then = Present(view, name);
        if (now is null && then is null)
        {
            return;
        }
        if (then is null)
        {
            Report(_added, live, name, path, now!.Value);
            if (_apply)
            {
                Remove(live, name, now!.Value);
            }
            return;
        }
        if (now is null)
        {
            Report(_deleted, view, name, path, then.Value);
            if (_apply)
            {
                CopyIn(view, live, name, then.Value);
            }
            return;
        }
        var (n, t) = (now.Value, then.Value);
        if (n.Kind != t.Kind)
        {
            _modified.Add("/" + path);
            if (_apply)
            {
                Remove(live, name, n);
                CopyIn(view, live, name, t);
            }
            return;
        }
        switch (n.Kind)
        {
            case EntryKind.File when !SameAttributes(n, t) || n.Size != t.Size || !SameContent(live, view, name):
                _modified.Add("/" + path);
                if (_apply)
                {
                    CopyIn(view, live, name, t);
                }
                break;
            case EntryKind.Symlink when n.Uid != t.Uid || n.Gid != t.Gid || At.ReadLink(live, name) != At.ReadLink(view, name):
                _modified.Add("/" + path);
                if (_apply)
                {
                    CopyIn(view, live, name, t);
                }
                break;
            case EntryKind.Directory:
                using (var liveDir = OpenDirectory(live, name))
                using (var viewDir = OpenDirectory(view, name))
                {
                    if (!SameAttributes(n, t))
                    {
                        _modified.Add("/" + path);
                        if (_apply)
                        {
                            SetAttributes(liveDir, t);
                        }
                    }
                    // A directory no upper layer holds anything below is the template's on both sides.
                    if (below is not null)
                    {
                        CompareDirectory(liveDir, viewDir, path, below);
                    }
                }
                break;
            default:
                break;
        }
    }

    /// <summary>A file, directory or symlink's status; null for nothing, and for FIFOs, sockets and devices (never compared, as in a workspace).</summary>
    private static EntryStatus? Present(SafeFileHandle dir, string name) =>
        At.TryStat(dir, name) is { Kind: not EntryKind.Other } status ? status : null;

    private static bool SameAttributes(EntryStatus a, EntryStatus b) => a.Permissions == b.Permissions && a.Uid == b.Uid && a.Gid == b.Gid;

    private static bool SameContent(SafeFileHandle live, SafeFileHandle view, string name)
    {
        var a = NoFollow.File(live, name) ?? throw Vanished();
        using var liveFile = a.Handle;
        var b = NoFollow.File(view, name) ?? throw Vanished();
        using var viewFile = b.Handle;
        return FileClone.SameContent(liveFile, viewFile);
    }

    /// <summary>Records <paramref name="path"/> and, for a directory, everything in it.</summary>
    private void Report(SortedSet<string> into, SafeFileHandle dir, string name, string path, EntryStatus status)
    {
        into.Add("/" + path);
        if (status.Kind != EntryKind.Directory)
        {
            return;
        }
        using var child = OpenDirectory(dir, name);
        foreach (var entry in At.ReadDirectory(child))
        {
            if (Present(child, entry.Name) is { } inner && !_mountPoints.Contains("/" + WorkspacePath.Join(path, entry.Name)))
            {
                Report(into, child, entry.Name, WorkspacePath.Join(path, entry.Name), inner);
            }
        }
    }

    /// <summary>Removes a file, symlink or whole directory from the live root (a template's entry becomes a whiteout: overlayfs does that).</summary>
    private static void Remove(SafeFileHandle live, string name, EntryStatus status)
    {
        if (status.Kind == EntryKind.Directory)
        {
            using (var dir = OpenDirectory(live, name))
            {
                TreeRemover.DeleteContents(dir);
            }
            At.Unlink(live, name, directory: true);
            return;
        }
        At.Unlink(live, name);
    }

    /// <summary>Puts the view's entry <paramref name="name"/> into the live root: a file or symlink atomically (a temp name renamed over), a directory with everything in it.</summary>
    private void CopyIn(SafeFileHandle view, SafeFileHandle live, string name, EntryStatus status)
    {
        switch (status.Kind)
        {
            case EntryKind.File:
                var temp = TempName();
                var source = NoFollow.File(view, name) ?? throw Vanished();
                using (source.Handle)
                using (var copy = Beneath.Open(live, temp, Beneath.O_WRONLY | Beneath.O_CREAT | Beneath.O_EXCL | Beneath.O_NOFOLLOW, 0x180, noSymlinks: true))
                {
                    FileClone.Copy(source.Handle, copy);
                    SetAttributes(copy, status);
                }
                At.Rename(live, temp, live, name);
                break;
            case EntryKind.Symlink:
                var link = TempName();
                At.Symlink(At.ReadLink(view, name), live, link);
                At.Chown(live, link, (int)status.Uid, (int)status.Gid);
                At.SetTimes(live, link, status.MtimeNs);
                At.Rename(live, link, live, name);
                break;
            case EntryKind.Directory:
                At.MakeDirectory(live, name, OwnerOnly);
                using (var from = OpenDirectory(view, name))
                using (var to = OpenDirectory(live, name))
                {
                    foreach (var entry in At.ReadDirectory(from))
                    {
                        _cancellationToken.ThrowIfCancellationRequested();
                        if (Present(from, entry.Name) is { } inner)
                        {
                            CopyIn(from, to, entry.Name, inner);
                        }
                    }
                    SetAttributes(to, status);
                }
                break;
            default:
                break;
        }
    }

    private static void SetAttributes(SafeFileHandle target, EntryStatus status)
    {
        At.Chown(target, "", (int)status.Uid, (int)status.Gid);
        At.Chmod(target, status.Permissions);
        At.SetTimes(target, "", status.MtimeNs);
    }

    private static SafeFileHandle OpenDirectory(SafeFileHandle dir, string name) => NoFollow.Directory(dir, name) ?? throw Vanished();

    private static string TempName() => ".hutch-reset-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    /// <summary>The sandbox is paused while its root is reset, so an entry that changes kind under a step is a bug or a daemon-side race: said plainly.</summary>
    private static WorkspaceException Vanished() =>
        new(ErrorCodes.WorkspaceBusy, "An entry of the sandbox's root changed while it was compared or restored. Try again.");

    private static void Guard(string path, Action action)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is LinuxException or ContainmentException or IOException)
        {
            throw Errors.From(e, path);
        }
    }
}
