using System.Formats.Tar;
using Hutch.Cli.Output;
using Hutch.Client.Local;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Files;

/// <summary>
/// Unpacks a tar exported from a sandbox into a local directory (`hutch cp ID:DIR ./dir`). The archive
/// is untrusted, since whatever runs in the sandbox chose its names and links, so:
/// <list type="bullet">
/// <item>absolute names and names with a ".." component are refused (tar-slip);</item>
/// <item>nothing is written through a symlink: every directory on a member's way must be a real
/// directory (else the member is refused), and a symlink standing where a file, link or directory
/// goes is removed and replaced, never followed (files are created O_CREAT|O_EXCL);</item>
/// <item>hard links, devices and FIFOs are never made (skipped, with a note);</item>
/// <item>modes keep only the permission bits: no setuid, setgid or sticky bit reaches this machine.</item>
/// </list>
/// Files owned by whoever runs hutch; symlinks are made as stored (as tar(1) does), since a link is
/// harmless until something writes through it, and nothing here does.
/// </summary>
internal static class TarExtractor
{
    /// <param name="archive">The tar stream; read to its end.</param>
    /// <param name="root">An existing directory to unpack into; trusted (the user named it).</param>
    /// <param name="skipped">Told about each member that is not unpacked (a hard link, device, FIFO).</param>
    /// <param name="cancellationToken">Stops between reads.</param>
    public static async Task ExtractAsync(Stream archive, string root, Action<string> skipped, CancellationToken cancellationToken)
    {
        // Directories known to be real, created or checked here: a member never turns one into a
        // symlink (replacing a directory is refused), so a check holds for the whole archive.
        var real = new HashSet<string>(StringComparer.Ordinal) { "" };
        // Modes and times of directories are set last, deepest first: a read-only directory would
        // refuse its own contents, and writing into a directory changes its mtime.
        var directories = new List<(string Path, UnixFileMode Mode, DateTimeOffset Mtime)>();
        try
        {
            await using var reader = new TarReader(archive, leaveOpen: true);
            while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
            {
                if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
                {
                    continue;
                }
                var relative = MemberPath(entry.Name);
                if (relative.Length == 0)
                {
                    if (entry.EntryType is not TarEntryType.Directory)
                    {
                        throw Refused(entry.Name, "it names the destination directory itself but is not a directory");
                    }
                    continue;
                }
                EnsureParents(root, relative, entry.Name, real);
                var path = Path.Join(root, relative);
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                        MakeDirectory(path);
                        real.Add(relative);
                        directories.Add((path, LocalFs.Permissions(entry.Mode), entry.ModificationTime));
                        break;
                    case var type when LocalTar.IsRegularFile(type):
                        await WriteFileAsync(path, entry, cancellationToken).ConfigureAwait(false);
                        break;
                    case TarEntryType.SymbolicLink when !string.IsNullOrEmpty(entry.LinkName):
                        ClearForNonDirectory(path, entry.Name);
                        File.CreateSymbolicLink(path, entry.LinkName);
                        break;
                    default:
                        skipped($"skipped '{SafeText.Show(relative)}': a {Describe(entry.EntryType)} is never made here");
                        break;
                }
            }
        }
        catch (InvalidDataException e)
        {
            throw new CliException(ErrorCodes.ArchiveInvalid, $"the sandbox sent an archive that is not a valid tar: {e.Message}");
        }

        for (var i = directories.Count - 1; i >= 0; i--)
        {
            var (path, mode, mtime) = directories[i];
            if (LocalFs.Lstat(path) == LocalKind.Directory)
            {
                File.SetUnixFileMode(path, mode);
                Directory.SetLastWriteTimeUtc(path, mtime.UtcDateTime);
            }
        }
    }

    /// <summary>
    /// The member's path relative to the destination ("a/b"), "." and empty components dropped; ""
    /// for the destination itself. Absolute names, ".." components and NUL bytes are refused.
    /// </summary>
    public static string MemberPath(string name)
    {
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw Refused(name, "its name holds a NUL byte");
        }
        if (name.StartsWith('/'))
        {
            throw Refused(name, "its name is absolute, so it would land outside the destination");
        }
        var parts = new List<string>();
        foreach (var part in name.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                throw Refused(name, "its name has a '..' component, which could climb out of the destination");
            }
            if (part != ".")
            {
                parts.Add(part);
            }
        }
        return string.Join('/', parts);
    }

    /// <summary>Makes the member's missing parent directories; refuses one that is a symlink or a file.</summary>
    private static void EnsureParents(string root, string relative, string name, HashSet<string> real)
    {
        for (var slash = relative.IndexOf('/', StringComparison.Ordinal); slash >= 0; slash = relative.IndexOf('/', slash + 1))
        {
            var ancestor = relative[..slash];
            if (real.Contains(ancestor))
            {
                continue;
            }
            var path = Path.Join(root, ancestor);
            var kind = LocalFs.Lstat(path);
            if (kind == LocalKind.None)
            {
                Directory.CreateDirectory(path);
            }
            else if (kind != LocalKind.Directory)
            {
                throw Refused(name, $"it lies beneath '{SafeText.Show(ancestor)}', which is a {LocalFs.Describe(kind)} here, and nothing is written through one");
            }
            real.Add(ancestor);
        }
    }

    private static void MakeDirectory(string path)
    {
        var kind = LocalFs.Lstat(path);
        if (kind == LocalKind.Directory)
        {
            return;
        }
        if (kind != LocalKind.None)
        {
            File.Delete(path);   // a symlink or file where the directory goes: replaced, not followed
        }
        Directory.CreateDirectory(path);
    }

    private static async Task WriteFileAsync(string path, TarEntry entry, CancellationToken cancellationToken)
    {
        ClearForNonDirectory(path, entry.Name);
        // CreateNew is O_CREAT|O_EXCL: if a symlink appeared in the meantime, this fails rather than following it.
        await using (var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = LocalFs.Permissions(entry.Mode),
            Options = FileOptions.Asynchronous,
        }))
        {
            if (entry.DataStream is { } data)
            {
                await data.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            }
        }
        File.SetLastWriteTimeUtc(path, entry.ModificationTime.UtcDateTime);
    }

    /// <summary>Removes a file or symlink where a non-directory goes; a directory there is refused (tar would not merge them either).</summary>
    private static void ClearForNonDirectory(string path, string name)
    {
        switch (LocalFs.Lstat(path))
        {
            case LocalKind.Directory:
                throw new CliException(ErrorCodes.IsADirectory,
                    $"'{path}' is a directory here, and the sandbox's '{SafeText.Show(name)}' is not: move it away or copy somewhere else");
            case LocalKind.File or LocalKind.Symlink:
                File.Delete(path);
                break;
        }
    }

    private static string Describe(TarEntryType type) => type switch
    {
        TarEntryType.HardLink => "hard link",
        TarEntryType.SymbolicLink => "symlink without a target",
        TarEntryType.Fifo => "FIFO",
        TarEntryType.CharacterDevice or TarEntryType.BlockDevice => "device node",
        _ => $"tar member of type {type}",
    };

    private static CliException Refused(string name, string reason) =>
        new(ErrorCodes.ArchiveRefused, $"refused '{SafeText.Show(name)}' from the sandbox: {reason}");
}
