using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files.Archives;

/// <summary>
/// Moves an accepted import from its staging directory into the import directory, by rename(2) on
/// directory fds: a staged file or link replaces a file or link of the same name, a staged
/// directory merges into an existing directory (which keeps its own mode and times) or moves in
/// whole. Everything is checked before anything moves: a member that would replace a directory, a
/// directory that meets a file, and above all one that would go through a symbolic link already in
/// the workspace are refused with nothing moved. Only a change the sandbox makes between the check
/// and the moves can stop an import halfway; each move is still whole and never through a link.
/// </summary>
internal sealed class StagedMerge(string importDirectory)
{
    public void Check(SafeFileHandle staged, SafeFileHandle target, string path = "")
    {
        foreach (var entry in Do(path, () => At.ReadDirectory(staged)))
        {
            var member = WorkspacePath.Join(path, entry.Name);
            var existing = Do(member, () => At.TryStat(target, entry.Name));
            if (existing is null)
            {
                continue;
            }
            if (entry.Kind != EntryKind.Directory)
            {
                if (existing.Value.Kind == EntryKind.Directory)
                {
                    throw ArchiveErrors.Refused(member, $"'{Shown(member)}' is a directory in the workspace, and a file never replaces a directory",
                        "Delete or move that directory first, or import into another directory.");
                }
                continue;
            }
            switch (existing.Value.Kind)
            {
                case EntryKind.Directory:
                    using (var stagedChild = OpenStaged(staged, entry.Name, member))
                    using (var targetChild = OpenTarget(target, entry.Name, member))
                    {
                        Check(stagedChild, targetChild, member);
                    }
                    break;
                case EntryKind.Symlink:
                    throw ArchiveErrors.Refused(FirstMemberUnder(staged, entry.Name, member),
                        $"it would be written through '{Shown(member)}', a symbolic link in the workspace, and nothing is ever written through a link",
                        "Import into the directory the link points to, or delete the link first.");
                default:
                    throw ArchiveErrors.Refused(member, $"'{Shown(member)}' is a file in the workspace, and a directory never replaces a file",
                        "Delete or move that file first, or import into another directory.");
            }
        }
    }

    public void Move(SafeFileHandle staged, SafeFileHandle target, string path = "")
    {
        foreach (var entry in Do(path, () => At.ReadDirectory(staged)))
        {
            var member = WorkspacePath.Join(path, entry.Name);
            if (entry.Kind == EntryKind.Directory && Do(member, () => At.TryStat(target, entry.Name)) is { Kind: EntryKind.Directory })
            {
                using var stagedChild = OpenStaged(staged, entry.Name, member);
                using var targetChild = OpenTarget(target, entry.Name, member);
                Move(stagedChild, targetChild, member);
                continue;
            }
            // A directory moves in only where nothing is (rename(2) would replace an empty directory).
            Do(member, () => At.Rename(staged, entry.Name, target, entry.Name, noReplace: entry.Kind == EntryKind.Directory));
        }
    }

    private SafeFileHandle OpenStaged(SafeFileHandle dir, string name, string member) =>
        Do(member, () => Beneath.Open(dir, name, Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true));

    private SafeFileHandle OpenTarget(SafeFileHandle dir, string name, string member) =>
        Do(member, () => Beneath.Open(dir, name, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true));

    /// <summary>A member the archive has under a directory, so the refusal names a real one ("x/passwd", not just "x").</summary>
    private string FirstMemberUnder(SafeFileHandle staged, string name, string member)
    {
        using var dir = OpenStaged(staged, name, member);
        var first = Do(member, () => At.ReadDirectory(dir)).Select(e => e.Name).Order(StringComparer.Ordinal).FirstOrDefault();
        return first is null ? member + "/" : WorkspacePath.Join(member, first);
    }

    private string Shown(string member) => ArchiveErrors.Shown(WorkspacePath.Absolute(WorkspacePath.Join(importDirectory, member)));

    /// <summary>File calls name the place in the workspace they failed on.</summary>
    private T Do<T>(string member, Func<T> action) =>
        Workspace.Guard(WorkspacePath.Absolute(WorkspacePath.Join(importDirectory, member)), action);

    private void Do(string member, Action action) =>
        Workspace.Guard(WorkspacePath.Absolute(WorkspacePath.Join(importDirectory, member)), action);
}
