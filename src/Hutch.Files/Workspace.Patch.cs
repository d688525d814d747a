using Hutch.Files.Patching;
using Hutch.Linux;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files;

// Patches: a unified diff applied all or nothing. Every hunk of every file is checked against the
// current content first; then every new content is written to a temp file beside its target; only
// when all of that worked are the temp files renamed into place and the deleted files removed.
public sealed partial class Workspace
{
    /// <summary>The largest file a patch reads; diffs are for source, not data.</summary>
    public const int MaxPatchedFileBytes = 64 << 20;

    public PatchResult ApplyPatch(ReadOnlySpan<byte> diff)
    {
        IReadOnlyList<FilePatch> patches;
        try
        {
            patches = UnifiedDiff.Parse(diff);
        }
        catch (PatchException e)
        {
            throw new WorkspaceException(ErrorCodes.PatchInvalid, $"The patch cannot be read: {e.Message}", e);
        }
        if (patches.Count == 0)
        {
            throw new WorkspaceException(ErrorCodes.PatchInvalid, "The patch has no file changes. Send a unified diff, like the output of `git diff`.");
        }

        var planned = patches.Select(Plan).ToList();
        var staged = new List<(SafeFileHandle Dir, TempFile Temp, string Name)>();
        var renamed = 0;
        try
        {
            foreach (var step in planned.Where(p => p.Content is not null))
            {
                staged.Add(Stage(step));
            }
            // Removals first: a patch may delete or rename away a path that another one then creates.
            foreach (var step in planned.Where(p => p.Remove is not null))
            {
                var (dir, name) = OpenParentForChange(step.Remove!, step.Remove!, createParents: false);
                using (dir)
                {
                    Guard(step.Remove!, () => At.Unlink(dir, name));
                }
            }
            for (; renamed < staged.Count; renamed++)
            {
                var (dir, temp, name) = staged[renamed];
                Guard(name, () => At.Rename(temp.Dir, temp.Name, dir, name));
            }
        }
        finally
        {
            foreach (var (_, temp, _) in staged.Skip(renamed))
            {
                TryUnlink(temp.Dir, temp.Name);
            }
            foreach (var (dir, _, _) in staged)
            {
                dir.Dispose();
            }
        }
        return new PatchResult([.. planned.Select(p => p.Report)]);
    }

    /// <summary>One file's change, computed but not yet made.</summary>
    private sealed record PlannedChange(string? Target, byte[]? Content, int Mode, string? Remove, PatchedFile Report);

    private PlannedChange Plan(FilePatch patch)
    {
        var oldPath = patch.OldPath is null ? null : WorkspacePath.Relative(patch.OldPath);
        var newPath = patch.NewPath is null ? null : WorkspacePath.Relative(patch.NewPath);
        var (current, mode) = oldPath is null ? (null, FileMode) : ReadForPatch(oldPath, patch);
        if (patch.Kind is FilePatchKind.Add or FilePatchKind.Rename && Guard(newPath!, () => ExistsNoFollow(newPath!)))
        {
            throw Failed(patch, $"'{newPath}' already exists, and the patch {(patch.Kind == FilePatchKind.Add ? "creates" : "renames to")} it");
        }
        byte[] next;
        try
        {
            next = HunkApplier.Apply(patch, current);
        }
        catch (PatchException e)
        {
            throw new WorkspaceException(ErrorCodes.PatchFailed, $"{e.Message}. Nothing was changed.", e);
        }
        var newMode = patch.NewMode ?? mode;
        return patch.Kind switch
        {
            FilePatchKind.Delete => new(null, null, 0, oldPath, new PatchedFile(oldPath!, "deleted")),
            FilePatchKind.Add => new(newPath, next, newMode, null, new PatchedFile(newPath!, "added")),
            FilePatchKind.Rename => new(newPath, next, newMode, oldPath, new PatchedFile(newPath!, "renamed", oldPath)),
            _ => new(newPath ?? oldPath, next, newMode, null, new PatchedFile(newPath ?? oldPath!, "modified")),
        };
    }

    /// <summary>The current bytes of a file a patch changes: a regular file, reached without any symlink.</summary>
    private (byte[] Content, int Mode) ReadForPatch(string relative, FilePatch patch)
    {
        SafeFileHandle handle;
        try
        {
            handle = Beneath.Open(_root, relative, Beneath.O_RDONLY | Beneath.O_NONBLOCK | Beneath.O_NOFOLLOW, noSymlinks: true);
        }
        catch (Exception e) when (e is Hutch.Linux.Interop.LinuxException { Errno: Hutch.Linux.Interop.Errno.ENOENT })
        {
            throw Failed(patch, $"'{relative}' does not exist");
        }
        catch (Exception e) when (e is Hutch.Linux.Interop.LinuxException or ContainmentException)
        {
            throw Failed(patch, $"'{relative}' is a symbolic link or passes through one, and patches change only regular files");
        }
        using (handle)
        {
            var status = Guard(relative, () => At.Stat(handle, ""));
            if (status.Kind != EntryKind.File)
            {
                throw Failed(patch, $"'{relative}' is not a regular file");
            }
            if (status.Size > MaxPatchedFileBytes)
            {
                throw new WorkspaceException(ErrorCodes.FileTooLarge, $"'{relative}' is larger than the {MaxPatchedFileBytes >> 20} MiB a patch may change.");
            }
            using var stream = new FileStream(handle, FileAccess.Read, bufferSize: 0);
            var content = new MemoryStream((int)status.Size);
            stream.CopyTo(content);
            return (content.ToArray(), status.Permissions);
        }
    }

    private bool ExistsNoFollow(string relative)
    {
        var (parent, name) = WorkspacePath.Split(relative);
        try
        {
            using var dir = Beneath.Open(_root, parent, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true);
            return At.TryStat(dir, name) is not null;
        }
        catch (Hutch.Linux.Interop.LinuxException e) when (e.Errno is Hutch.Linux.Interop.Errno.ENOENT)
        {
            return false;
        }
    }

    /// <summary>Writes a planned file's new content to a temp file beside it (parents made as needed).</summary>
    private (SafeFileHandle Dir, TempFile Temp, string Name) Stage(PlannedChange step)
    {
        var (dir, name) = OpenParentForChange(step.Target!, step.Target!, createParents: true);
        try
        {
            var temp = CreateTemp(dir, step.Target!);
            using (temp.Handle)
            {
                try
                {
                    RandomAccess.Write(temp.Handle, step.Content, 0);
                    At.Chown(temp.Handle, "", OwnerUid, OwnerGid);
                    At.Chmod(temp.Handle, step.Mode);
                    At.Sync(temp.Handle);   // on disk before it replaces anything, as for every write
                }
                catch (Exception e)
                {
                    TryUnlink(temp.Dir, temp.Name);
                    throw Errors.From(e, step.Target!);
                }
            }
            return (dir, temp, name);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    private static WorkspaceException Failed(FilePatch patch, string why) => new(ErrorCodes.PatchFailed, $"The patch for {patch.DisplayPath} does not apply: {why}. Nothing was changed.");
}
