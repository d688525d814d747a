using System.Formats.Tar;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files.Archives;

/// <summary>
/// Imports a tar (plain or gzip) into a directory of the workspace, all or nothing: members are
/// extracted into a hidden staging directory (<see cref="Staging"/>), and only once the whole
/// archive has been read and accepted are they moved into place (<see cref="StagedMerge"/>). A
/// refused member (tar-slip, hard link, device, FIFO, escaping symlink, a way through a symlink), a
/// cap exceeded, a damaged archive or a full disk leaves nothing of the archive in the workspace.
/// Reading uses System.Formats.Tar (pax, GNU long names, ustar, v7).
/// </summary>
public static class ArchiveImporter
{
    private const int PermissionBits = 0x1ff;   // rwx for all three; setuid, setgid and sticky are dropped

    /// <param name="directory">Where members go (created if missing); member "a/b" lands at directory/a/b.</param>
    /// <param name="archive">The tar or tar.gz bytes; read once, front to back (an HTTP request body is fine).</param>
    /// <returns>The import directory (workspace-relative), members imported and bytes of file content written.</returns>
    /// <exception cref="WorkspaceException">
    /// archive_refused (400), archive_too_large (413), archive_invalid (400), disk_full (507), or a
    /// path error about <paramref name="directory"/> itself.
    /// </exception>
    public static async Task<ImportResult> ImportAsync(Workspace workspace, string directory, Stream archive, ImportLimits limits,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limits.MaxBytes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limits.MaxEntries);
        var relative = WorkspacePath.Relative(directory);
        var tar = new CappedStream(await ArchiveInput.OpenAsync(archive, cancellationToken).ConfigureAwait(false), limits.MaxBytes);
        await using (tar.ConfigureAwait(false))
        {
            var (home, exists) = OpenNearestDirectory(workspace, relative, directory);
            using (home)
            using (var staging = Staging.Create(home, workspace, limits, directory))
            {
                var entries = await ExtractAsync(tar, staging, relative, limits, cancellationToken).ConfigureAwait(false);
                staging.FinishDirectories();
                staging.Sync(directory);
                Commit(workspace, staging, home, exists, relative, directory);
                return new ImportResult(relative, entries, staging.BytesWritten);
            }
        }
    }

    /// <summary>Makes the import directory if it was missing, then checks and moves the staged members into it.</summary>
    private static void Commit(Workspace workspace, Staging staging, SafeFileHandle home, bool exists, string relative, string shown)
    {
        var target = exists ? home : workspace.MakeDirectories(relative, shown);
        try
        {
            var merge = new StagedMerge(relative);
            using (var staged = staging.OpenForListing())
            {
                merge.Check(staged, target);
            }
            using (var staged = staging.OpenForListing())
            {
                merge.Move(staged, target);
            }
        }
        finally
        {
            if (!exists)
            {
                target.Dispose();
            }
        }
    }

    /// <summary>Reads every member into the staging directory; returns how many were imported.</summary>
    private static async Task<int> ExtractAsync(Stream tar, Staging staging, string importDirectory, ImportLimits limits, CancellationToken cancellationToken)
    {
        var reader = new TarReader(tar, leaveOpen: true);
        await using (reader.ConfigureAwait(false))
        {
            var seen = 0;
            var imported = 0;
            while (true)
            {
                TarEntry? entry;
                try
                {
                    entry = await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (ArchiveInput.IsBroken(e))
                {
                    throw ArchiveInput.Broken(e);
                }
                if (entry is null)
                {
                    return imported;
                }
                if (++seen > limits.MaxEntries)
                {
                    throw ArchiveErrors.TooManyEntries(limits.MaxEntries);
                }
                if (await AddAsync(entry, staging, importDirectory, cancellationToken).ConfigureAwait(false))
                {
                    imported++;
                }
            }
        }
    }

    /// <summary>Stages one member; false for what is skipped (pax global headers, the archive's own "./").</summary>
    private static async Task<bool> AddAsync(TarEntry entry, Staging staging, string importDirectory, CancellationToken cancellationToken)
    {
        if (entry.EntryType == TarEntryType.GlobalExtendedAttributes)
        {
            return false;   // archive-wide metadata (git archive writes its commit id here), not a file
        }
        var path = MemberNames.Normalize(entry.Name);
        var mode = (int)entry.Mode & PermissionBits;
        var mtime = MtimeNs(entry.ModificationTime);
        // Old (v7) archives mark a directory only by the trailing slash of a regular entry.
        var isDirectory = entry.EntryType == TarEntryType.Directory
            || (entry.EntryType is TarEntryType.V7RegularFile or TarEntryType.RegularFile && entry.Name.EndsWith('/') && entry.Length == 0);
        if (isDirectory)
        {
            if (path.Length == 0)
            {
                return false;   // the import directory itself: it keeps its own mode
            }
            staging.AddDirectory(entry.Name, path, mode, mtime);
            return true;
        }
        switch (entry.EntryType)
        {
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                RefuseRoot(entry.Name, path);
                await staging.AddFileAsync(entry.Name, path, entry.DataStream, entry.Length, mode, mtime, cancellationToken).ConfigureAwait(false);
                return true;
            case TarEntryType.SymbolicLink:
                RefuseRoot(entry.Name, path);
                MemberNames.CheckLinkTarget(entry.Name, entry.LinkName, WorkspacePath.Join(importDirectory, WorkspacePath.Split(path).Parent));
                staging.AddSymlink(entry.Name, path, entry.LinkName, mtime);
                return true;
            case TarEntryType.HardLink:
                throw ArchiveErrors.Refused(entry.Name, $"it is a hard link (to '{ArchiveErrors.Shown(entry.LinkName)}'), and hard links are never imported",
                    "Create the archive with `tar --hard-dereference`, which stores every file whole.");
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                throw ArchiveErrors.Refused(entry.Name, "it is a device node, and devices are never imported", "Leave device files out of the archive.");
            case TarEntryType.Fifo:
                throw ArchiveErrors.Refused(entry.Name, "it is a FIFO, and FIFOs are never imported", "Leave it out of the archive.");
            default:
                throw ArchiveErrors.Refused(entry.Name, $"its type ({entry.EntryType}) is not a file, directory or symbolic link",
                    "Only regular files, directories and symbolic links are imported; leave it out (for sparse files, archive without --sparse).");
        }
    }

    private static void RefuseRoot(string member, string path)
    {
        if (path.Length == 0)
        {
            throw ArchiveErrors.Refused(member, "its name is the import directory itself, which is a directory", "Give the member a file name.");
        }
    }

    /// <summary>Nanoseconds since the epoch, clamped to what utimensat takes (no times before 1970 or after 2262).</summary>
    private static long MtimeNs(DateTimeOffset mtime)
    {
        var ticks = (mtime - DateTimeOffset.UnixEpoch).Ticks;
        return Math.Clamp(ticks, 0, long.MaxValue / 100) * 100;
    }

    /// <summary>
    /// The import directory if it exists, else its deepest existing ancestor (the staging directory
    /// goes there, and the missing directories are made only when the import is accepted). No
    /// symlink is followed on the way, as for every write.
    /// </summary>
    private static (SafeFileHandle Dir, bool Exists) OpenNearestDirectory(Workspace workspace, string relative, string shown)
    {
        var current = Workspace.Guard(shown, () => Beneath.Open(workspace.Root, "", Beneath.O_PATH | Beneath.O_DIRECTORY));
        foreach (var part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            Workspace.CheckName(part, shown);
            SafeFileHandle next;
            try
            {
                next = Beneath.Open(current, part, Beneath.O_PATH | Beneath.O_DIRECTORY, noSymlinks: true);
            }
            catch (LinuxException e) when (e.Errno == Errno.ENOENT)
            {
                return (current, false);
            }
            catch (Exception e) when (e is LinuxException or ContainmentException)
            {
                current.Dispose();
                throw Errors.From(e, shown);
            }
            current.Dispose();
            current = next;
        }
        return (current, true);
    }
}
