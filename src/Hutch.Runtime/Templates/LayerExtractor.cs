using System.Formats.Tar;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Runtime.Templates;

/// <summary>
/// Reads a layer's tar stream entry by entry (System.Formats.Tar: pax, GNU long names, ustar, v7)
/// and applies each to a <see cref="LayerWriter"/> in overlayfs form, while the stream's bytes are
/// hashed into the layer's diff_id. Entries never become files on their own terms: this decides
/// what each one may be, the writer makes it beneath the layer's root.
/// </summary>
internal static class LayerExtractor
{
    /// <summary>Extracts <paramref name="blob"/> beneath <paramref name="root"/>; returns the diff_id and what was written.</summary>
    /// <param name="plainTree">
    /// A plain directory tree rather than an overlay layer (a bundle): names starting with ".wh." are
    /// refused instead of read as whiteouts, and FIFOs are skipped with a warning like device nodes
    /// (a FIFO in a tree that several sandboxes mount would be a channel between them).
    /// </param>
    public static async Task<LayerInfo> ExtractAsync(Stream blob, SafeFileHandle root, LayerLimits limits, CancellationToken cancellationToken,
        bool plainTree = false)
    {
        var tar = await LayerInput.OpenAsync(blob, limits.MaxBytes, cancellationToken).ConfigureAwait(false);
        await using (tar.ConfigureAwait(false))
        using (var writer = new LayerWriter(root))
        {
            var reader = new TarReader(tar, leaveOpen: true);
            await using (reader.ConfigureAwait(false))
            {
                long seen = 0;
                while (await NextAsync(reader, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    if (++seen > limits.MaxEntries)
                    {
                        throw new TemplateException(TemplateErrorCodes.LayerTooLarge,
                            $"the layer has more than {limits.MaxEntries} entries, the most one layer may hold; split the image's content over more layers, or raise the limit");
                    }
                    await ApplyAsync(entry, writer, limits, plainTree, cancellationToken).ConfigureAwait(false);
                }
            }
            writer.Finish();
            var digest = await tar.FinishAsync(cancellationToken).ConfigureAwait(false);
            return new LayerInfo(digest, writer.Bytes, writer.Entries, writer.Warnings);
        }
    }

    /// <summary>The diff_id of a layer blob without extracting it (the tar is still read whole, so a broken one is refused).</summary>
    public static async Task<string> DigestAsync(Stream blob, LayerLimits limits, CancellationToken cancellationToken)
    {
        var tar = await LayerInput.OpenAsync(blob, limits.MaxBytes, cancellationToken).ConfigureAwait(false);
        await using (tar.ConfigureAwait(false))
        {
            return await tar.FinishAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<TarEntry?> NextAsync(TarReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (LayerInput.IsBroken(e))
        {
            throw LayerInput.Broken(e);
        }
    }

    private static async Task ApplyAsync(TarEntry entry, LayerWriter writer, LayerLimits limits, bool plainTree, CancellationToken cancellationToken)
    {
        if (entry.EntryType == TarEntryType.GlobalExtendedAttributes)
        {
            return;     // archive-wide metadata, not a file
        }
        var member = entry.Name;
        var path = LayerNames.Normalize(member, limits);
        var (parent, name) = LayerNames.Split(path);
        if (plainTree && name.StartsWith(LayerNames.WhiteoutPrefix, StringComparison.Ordinal))
        {
            throw LayerNames.Invalid(member, $"names starting with '{LayerNames.WhiteoutPrefix}' are overlayfs whiteouts, which a plain directory tree cannot hold; rename the file");
        }
        // Whiteouts are known by their name alone, whatever their type (as Docker and containerd read them).
        if (name.StartsWith(LayerNames.WhiteoutPrefix, StringComparison.Ordinal))
        {
            if (name == LayerNames.OpaqueMarker)
            {
                writer.Opaque(member, parent);
            }
            else if (!name.StartsWith(LayerNames.WhiteoutPrefix + LayerNames.WhiteoutPrefix, StringComparison.Ordinal))
            {
                var target = name[LayerNames.WhiteoutPrefix.Length..];
                if (target is "" or "." or "..")
                {
                    throw LayerNames.Invalid(member, $"a whiteout names '{target}', which is not an entry of its directory");
                }
                writer.Whiteout(member, parent, target);
            }
            // Other ".wh..wh." names are aufs's own bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not files, skipped as Docker does.
            return;
        }
        var mode = (int)entry.Mode;
        var mtime = MtimeNs(entry.ModificationTime);
        // Old (v7) archives mark a directory only by the trailing slash of a regular entry.
        var isDirectory = entry.EntryType == TarEntryType.Directory
            || (entry.EntryType is TarEntryType.V7RegularFile or TarEntryType.RegularFile && member.EndsWith('/') && entry.Length == 0);
        if (isDirectory)
        {
            writer.Directory(member, path, mode, entry.Uid, entry.Gid, mtime);
            return;
        }
        if (path.Length == 0)
        {
            throw LayerNames.Invalid(member, "an entry that is not a directory is named as the layer's root");
        }
        switch (entry.EntryType)
        {
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                await writer.FileAsync(member, path, entry.DataStream, entry.Length, mode, entry.Uid, entry.Gid, mtime, cancellationToken).ConfigureAwait(false);
                return;
            case TarEntryType.SymbolicLink:
                writer.Symlink(member, path, CheckedTarget(member, entry.LinkName, limits), entry.Uid, entry.Gid, mtime);
                return;
            case TarEntryType.HardLink:
                writer.HardLink(member, path, HardLinkTarget(member, entry.LinkName, limits));
                return;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice:
                writer.Warn($"skipped the device node '{LayerNames.Shown(member)}': device nodes are never created from an image");
                return;
            case TarEntryType.Fifo when plainTree:
                writer.Warn($"skipped the FIFO '{LayerNames.Shown(member)}': a tree that several sandboxes mount holds no named pipe");
                return;
            case TarEntryType.Fifo:
                writer.Fifo(member, path, mode, entry.Uid, entry.Gid, mtime);
                return;
            default:
                throw new TemplateException(TemplateErrorCodes.LayerUnsupported,
                    $"the layer was refused: '{LayerNames.Shown(member)}' is a tar entry of type {entry.EntryType}, which a layer cannot hold " +
                    "(only files, directories, symbolic and hard links, FIFOs and device nodes, which are skipped)");
        }
    }

    /// <summary>A hard link's target is a path in the archive, read like an entry's own name (leading '/' dropped, '..' resolved).</summary>
    private static string HardLinkTarget(string member, string target, LayerLimits limits)
    {
        try
        {
            return LayerNames.Normalize(target, limits, "a hard link's target");
        }
        catch (TemplateException e) when (e.Code == TemplateErrorCodes.LayerInvalidPath)
        {
            throw new TemplateException(TemplateErrorCodes.LayerLinkOutside,
                $"the layer was refused: '{LayerNames.Shown(member)}' is a hard link to '{LayerNames.Shown(target)}', which is not in the layer. " +
                "A hard link may only point to a regular file that comes earlier in the same layer.", e);
        }
    }

    private static string CheckedTarget(string member, string target, LayerLimits limits)
    {
        if (target.Length == 0 || target.Contains('\0'))
        {
            throw LayerNames.Invalid(member, "a symbolic link has an empty target or one with a NUL byte");
        }
        if (System.Text.Encoding.UTF8.GetByteCount(target) > limits.MaxPathLength)
        {
            throw LayerNames.Invalid(member, $"a symbolic link's target is longer than {limits.MaxPathLength} bytes");
        }
        return target;
    }

    /// <summary>Nanoseconds since the epoch, clamped to what utimensat takes (no times before 1970 or after 2262).</summary>
    private static long MtimeNs(DateTimeOffset mtime)
    {
        var ticks = (mtime - DateTimeOffset.UnixEpoch).Ticks;
        return Math.Clamp(ticks, 0, long.MaxValue / 100) * 100;
    }
}
