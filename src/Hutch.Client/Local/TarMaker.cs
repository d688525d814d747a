using System.Formats.Tar;

namespace Hutch.Client.Local;

/// <summary>
/// Writes a local directory as a pax tar, streamed (`hutch cp DIR ID:PATH` sends it to the import API
/// as it is made): members relative to the directory, each directory before its contents, names in
/// ordinal order. Symlinks are stored as links and never followed, so only what lies beneath the
/// directory is read; the daemon decides whether a link is acceptable in the workspace.
/// </summary>
internal static class TarMaker
{
    public static async Task WriteAsync(string directory, Stream output, CancellationToken cancellationToken)
    {
        await using var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await WriteChildrenAsync(writer, new DirectoryInfo(directory), "", cancellationToken).ConfigureAwait(false);
    }

    private static async Task WriteChildrenAsync(TarWriter writer, DirectoryInfo directory, string prefix, CancellationToken cancellationToken)
    {
        foreach (var info in directory.EnumerateFileSystemInfos().OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var name = prefix + info.Name;
            // A link to a directory enumerates as a DirectoryInfo: ask for the link first.
            if (info.LinkTarget is { } target)
            {
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, name)
                {
                    LinkName = target,
                    Mode = (UnixFileMode)Convert.ToInt32("777", 8),
                    ModificationTime = info.LastWriteTimeUtc,
                }, cancellationToken).ConfigureAwait(false);
            }
            else if (info is DirectoryInfo subdirectory)
            {
                await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, name + "/")
                {
                    Mode = LocalFs.Permissions(info.UnixFileMode),
                    ModificationTime = info.LastWriteTimeUtc,
                }, cancellationToken).ConfigureAwait(false);
                await WriteChildrenAsync(writer, subdirectory, name + "/", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await WriteFileAsync(writer, (FileInfo)info, name, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static Task WriteFileAsync(TarWriter writer, FileInfo file, string name, CancellationToken cancellationToken) =>
        LocalTar.WriteFileAsync(writer, new PaxTarEntry(TarEntryType.RegularFile, name)
        {
            Mode = LocalFs.Permissions(file.UnixFileMode),
            ModificationTime = file.LastWriteTimeUtc,
        }, file.Length, () => LocalFs.OpenRead(file.FullName), cancellationToken);
}
