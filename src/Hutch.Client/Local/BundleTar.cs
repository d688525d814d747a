using System.Formats.Tar;
using System.IO.Enumeration;

namespace Hutch.Client.Local;

/// <summary>
/// Writes a local directory as a bundle's tar, streamed (`hutch bundle push`): members relative to
/// the directory, each directory before its contents, names in ordinal order, what the excludes match
/// left out. Symlinks are kept as links unless asked to follow them; then a link is replaced by what
/// it points to (a file's content, a directory's tree), a dangling or looping link is an error.
/// </summary>
internal static class BundleTar
{
    public static async Task WriteAsync(string directory, BundleDirectoryOptions options, Stream output, CancellationToken cancellationToken)
    {
        var root = new DirectoryInfo(directory);
        if (!root.Exists)
        {
            throw new DirectoryNotFoundException($"{directory} is not a directory");
        }
        await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        var excludes = options.Excludes?.Where(e => e.Length > 0).ToArray() ?? [];
        var visited = new HashSet<string>(StringComparer.Ordinal) { root.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? root.FullName };
        await WriteChildrenAsync(writer, root, "", excludes, options.FollowSymlinks, visited, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Whether an exclude pattern matches a member: one without '/' matches any name along the path
    /// (<c>*.pyc</c>, <c>.git</c>), one with '/' the whole relative path (<c>docs/*.tmp</c>); '*' and '?' as in a shell.
    /// A matched directory is left out with all it holds.
    /// </summary>
    public static bool IsExcluded(string relativePath, IReadOnlyList<string> excludes)
    {
        var name = relativePath[(relativePath.LastIndexOf('/') + 1)..];
        foreach (var pattern in excludes)
        {
            var trimmed = pattern.Trim('/');
            if (trimmed.Contains('/')
                ? FileSystemName.MatchesSimpleExpression(trimmed, relativePath, ignoreCase: false)
                : FileSystemName.MatchesSimpleExpression(trimmed, name, ignoreCase: false))
            {
                return true;
            }
        }
        return false;
    }

    private static async Task WriteChildrenAsync(TarWriter writer, DirectoryInfo directory, string prefix, string[] excludes, bool follow,
        HashSet<string> visited, CancellationToken cancellationToken)
    {
        foreach (var info in directory.EnumerateFileSystemInfos().OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = prefix + info.Name;
            if (IsExcluded(name, excludes))
            {
                continue;
            }
            var entry = info;
            if (info.LinkTarget is { } target)
            {
                if (!follow)
                {
                    await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, name)
                    {
                        LinkName = target,
                        Mode = (UnixFileMode)Convert.ToInt32("777", 8),
                        ModificationTime = info.LastWriteTimeUtc,
                    }, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                entry = info.ResolveLinkTarget(returnFinalTarget: true) is { Exists: true } resolved
                    ? resolved
                    : throw new FileNotFoundException($"{info.FullName} is a symbolic link to '{target}', which does not exist (exclude it, or push without --follow-symlinks)");
            }
            if (entry is DirectoryInfo subdirectory)
            {
                var real = subdirectory.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? subdirectory.FullName;
                if (!visited.Add(real))
                {
                    throw new IOException($"{info.FullName} leads back to {real}, a directory the bundle holds already (a symbolic link loop); exclude it");
                }
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, name + "/")
                {
                    Mode = LocalFs.Permissions(subdirectory.UnixFileMode),
                    ModificationTime = subdirectory.LastWriteTimeUtc,
                }, cancellationToken).ConfigureAwait(false);
                await WriteChildrenAsync(writer, subdirectory, name + "/", excludes, follow, visited, cancellationToken).ConfigureAwait(false);
                visited.Remove(real);
            }
            else if (entry is FileInfo file && LocalFs.Lstat(file.FullName) == LocalKind.File)
            {
                await LocalTar.WriteFileAsync(writer, new PaxTarEntry(TarEntryType.RegularFile, name)
                {
                    Mode = LocalFs.Permissions(file.UnixFileMode),
                    ModificationTime = file.LastWriteTimeUtc,
                }, file.Length, () => LocalFs.OpenRead(file.FullName), cancellationToken).ConfigureAwait(false);
            }
            // Sockets, FIFOs and devices: not part of a bundle, left out.
        }
    }
}
