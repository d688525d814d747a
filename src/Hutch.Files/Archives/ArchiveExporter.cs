using System.Formats.Tar;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;
using static Hutch.Linux.Interop.Errno;

namespace Hutch.Files.Archives;

/// <summary>
/// Exports a file, a directory or a symlink of the workspace as a pax tar, streamed to an output
/// that need not seek (an HTTP response): each file is read from its open fd as it is written,
/// never buffered whole. No symlink is ever followed: links are stored as links, directories are
/// walked by fd with RESOLVE_NO_SYMLINKS, and files are opened O_NOFOLLOW and checked to be regular
/// (FIFOs, sockets and devices are left out), so nothing outside the workspace can be read even if
/// the sandbox swaps a directory for a link mid-export (security invariant 4).
/// </summary>
public static class ArchiveExporter
{
    private const int PermissionBits = 0x1ff;

    /// <param name="path">
    /// A file (one member, named by its file name), a directory (members relative to it, each directory
    /// before its contents, names in ordinal order) or a symlink (stored as the link).
    /// </param>
    /// <param name="include">
    /// For a directory: export only these paths, relative to it (a directory among them whole), for a
    /// sync client that wants only what changed. Paths that no longer exist, or lie behind a symlink,
    /// are left out.
    /// </param>
    /// <exception cref="WorkspaceException">
    /// Before anything is written: a path error about <paramref name="path"/> or an include. After
    /// that, an I/O failure ends the export without the tar's end-of-archive blocks, so a reader can
    /// tell the archive is incomplete.
    /// </exception>
    /// <param name="maxBytes">The most bytes of tar to produce (<see cref="ExportLimits"/>): beyond it, archive_too_large (see <see cref="ExportBudget"/>).</param>
    public static async Task ExportAsync(Workspace workspace, string path, IReadOnlyList<string>? include, Stream output,
        long maxBytes = ExportLimits.DefaultMaxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        var budget = new ExportBudget(output, maxBytes);
        var relative = WorkspacePath.Relative(path);
        var wanted = include is null ? null : Includes(include);
        if (relative.Length == 0)
        {
            using var root = Workspace.Guard(path, () => Beneath.Open(workspace.Root, "", Beneath.O_RDONLY | Beneath.O_DIRECTORY));
            await WriteDirectoryAsync(root, wanted, budget, cancellationToken).ConfigureAwait(false);
            return;
        }
        var (parentPath, name) = WorkspacePath.Split(relative);
        using var parent = Workspace.Guard(path, () => Beneath.Open(workspace.Root, parentPath, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true));
        var status = Workspace.Guard(path, () => At.Stat(parent, name));
        switch (status.Kind)
        {
            case EntryKind.Directory:
                using (var dir = Workspace.Guard(path, () => Beneath.Open(parent, name, Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true)))
                {
                    await WriteDirectoryAsync(dir, wanted, budget, cancellationToken).ConfigureAwait(false);
                }
                return;
            case EntryKind.File or EntryKind.Symlink:
                if (wanted is not null)
                {
                    throw new WorkspaceException(ErrorCodes.InvalidRequest,
                        $"'{Errors.Shorten(path)}' is not a directory, so there is nothing to include from it. Export it without include.");
                }
                await WriteArchiveAsync(budget, writer => WriteEntryAsync(writer, parent, name, name, status, cancellationToken)).ConfigureAwait(false);
                return;
            default:
                throw new WorkspaceException(ErrorCodes.NotAFile, $"'{Errors.Shorten(path)}' is a FIFO, socket or device, which is never exported. Export a file or a directory.");
        }
    }

    private static Task WriteDirectoryAsync(SafeFileHandle dir, List<string>? wanted, ExportBudget output, CancellationToken cancellationToken) =>
        WriteArchiveAsync(output, async writer =>
        {
            if (wanted is null)
            {
                await WriteChildrenAsync(writer, dir, "", cancellationToken).ConfigureAwait(false);
                return;
            }
            foreach (var path in wanted)
            {
                await WriteIncludedAsync(writer, dir, path, cancellationToken).ConfigureAwait(false);
            }
        });

    /// <summary>
    /// The end-of-archive blocks (written when the TarWriter is disposed) say "complete", so they are
    /// written only after every member: a failure midway leaves the writer undisposed.
    /// </summary>
    private static async Task WriteArchiveAsync(ExportBudget output, Func<ExportWriter, Task> write)
    {
        var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await write(new ExportWriter(writer, output)).ConfigureAwait(false);
        await writer.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The tar being written and the budget it is held to.</summary>
    private sealed record ExportWriter(TarWriter Tar, ExportBudget Budget);

    private static async Task WriteChildrenAsync(ExportWriter writer, SafeFileHandle dir, string prefix, CancellationToken cancellationToken)
    {
        TreeDepth.Check(prefix);
        var entries = Workspace.Guard(prefix, () => At.ReadDirectory(dir));
        entries.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        foreach (var entry in entries)
        {
            if (Staging.IsInFlight(entry.Name))
            {
                continue;   // an import or a write in progress: not part of the workspace yet
            }
            if (At.TryStat(dir, entry.Name) is { } status)
            {
                await WriteEntryAsync(writer, dir, entry.Name, WorkspacePath.Join(prefix, entry.Name), status, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task WriteIncludedAsync(ExportWriter writer, SafeFileHandle baseDir, string path, CancellationToken cancellationToken)
    {
        var (parentPath, name) = WorkspacePath.Split(path);
        SafeFileHandle parent;
        try
        {
            parent = Beneath.Open(baseDir, parentPath, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true);
        }
        catch (Exception e) when (e is LinuxException or ContainmentException)
        {
            return;     // gone, or behind a symlink: not part of the tree as an export sees it
        }
        using (parent)
        {
            if (!Staging.IsInFlight(name) && At.TryStat(parent, name) is { } status)
            {
                await WriteEntryAsync(writer, parent, name, path, status, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Writes one entry (a directory with everything under it); what vanished or changed kind meanwhile is left out.</summary>
    private static async Task WriteEntryAsync(ExportWriter writer, SafeFileHandle dir, string name, string member, EntryStatus status, CancellationToken cancellationToken)
    {
        switch (status.Kind)
        {
            case EntryKind.File:
                await WriteFileAsync(writer, dir, name, member, cancellationToken).ConfigureAwait(false);
                break;
            case EntryKind.Symlink:
                string target;
                try
                {
                    target = At.ReadLink(dir, name);
                }
                catch (LinuxException e) when (e.Errno is Errno.ENOENT or EINVAL)
                {
                    return;     // deleted, or no longer a link
                }
                await writer.Tar.WriteEntryAsync(Entry(TarEntryType.SymbolicLink, member, status, target), cancellationToken).ConfigureAwait(false);
                break;
            case EntryKind.Directory:
                SafeFileHandle child;
                try
                {
                    child = Beneath.Open(dir, name, Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true);
                }
                catch (Exception e) when (e is LinuxException or ContainmentException)
                {
                    return;     // deleted, or swapped for a symlink: never followed
                }
                using (child)
                {
                    await writer.Tar.WriteEntryAsync(Entry(TarEntryType.Directory, member + "/", status), cancellationToken).ConfigureAwait(false);
                    await WriteChildrenAsync(writer, child, member, cancellationToken).ConfigureAwait(false);
                }
                break;
        }
    }

    private static async Task WriteFileAsync(ExportWriter writer, SafeFileHandle dir, string name, string member, CancellationToken cancellationToken)
    {
        SafeFileHandle file;
        try
        {
            // O_NONBLOCK: had it become a FIFO, the open must not wait for a writer.
            file = Beneath.Open(dir, name, Beneath.O_RDONLY | Beneath.O_NONBLOCK | Beneath.O_NOFOLLOW | Beneath.O_NOCTTY, noSymlinks: true);
        }
        catch (Exception e) when (e is LinuxException or ContainmentException)
        {
            return;     // deleted, or swapped for a symlink or something unreadable
        }
        using (file)
        {
            var status = Workspace.Guard(member, () => At.Stat(file, ""));
            if (status.Kind != EntryKind.File)
            {
                return;
            }
            writer.Budget.CheckFits(member, status.Size);
            using var data = new FileView(file, status.Size);
            var entry = Entry(TarEntryType.RegularFile, member, status);
            entry.DataStream = data;
            await writer.Tar.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A pax entry (any length, UTF-8 names, sub-second times), except for a name or link target with a
    /// newline: .NET's pax reader splits records at the first newline instead of by their length
    /// prefix, so such a name is written as a GNU entry (long names as a LongLink member), which
    /// GNU tar, bsdtar and TarReader all read.
    /// </summary>
    private static TarEntry Entry(TarEntryType type, string member, EntryStatus status, string? linkName = null)
    {
        TarEntry entry = member.Contains('\n') || linkName?.Contains('\n') == true
            ? new GnuTarEntry(type, member)
            : new PaxTarEntry(type, member);
        // Owner ids are left 0: the host ids behind the sandbox user mean nothing to the reader.
        entry.Mode = (UnixFileMode)(status.Permissions & PermissionBits);
        entry.ModificationTime = DateTimeOffset.UnixEpoch.AddTicks(Math.Max(0, status.MtimeNs) / 100);
        entry.Uid = 0;
        entry.Gid = 0;
        if (linkName is not null)
        {
            entry.LinkName = linkName;
        }
        return entry;
    }

    /// <summary>Normalizes the include list before anything is written: relative, no "..", no duplicates or paths inside another.</summary>
    private static List<string>? Includes(IReadOnlyList<string> include)
    {
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var raw in include)
        {
            if (raw.Contains('\0') || raw.StartsWith('/'))
            {
                throw new WorkspaceException(ErrorCodes.InvalidPath,
                    $"The include path '{Errors.Shorten(raw.Replace("\0", "\\0"))}' must be relative to the exported directory, like 'src/a.py'.");
            }
            var parts = raw.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToList();
            if (parts.Contains(".."))
            {
                throw new WorkspaceException(ErrorCodes.InvalidPath,
                    $"The include path '{Errors.Shorten(raw)}' has a '..' component; name paths inside the exported directory.");
            }
            if (parts.Count == 0)
            {
                return null;    // "." is the whole directory
            }
            paths.Add(string.Join('/', parts));
        }
        var result = new List<string>();
        var kept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            var inside = false;
            for (var slash = path.IndexOf('/'); slash > 0 && !inside; slash = path.IndexOf('/', slash + 1))
            {
                inside = kept.Contains(path[..slash]);
            }
            if (!inside)
            {
                result.Add(path);
                kept.Add(path);
            }
        }
        return result;
    }
}
