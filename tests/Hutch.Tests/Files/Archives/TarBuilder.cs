using System.Formats.Tar;
using System.IO.Compression;

namespace Hutch.Tests.Files.Archives;

/// <summary>Builds test archives member by member with TarWriter, attack members included.</summary>
internal sealed class TarBuilder
{
    private readonly MemoryStream _tar = new();
    private readonly TarWriter _writer;
    private readonly TarEntryFormat _format;

    public TarBuilder(TarEntryFormat format = TarEntryFormat.Pax)
    {
        _format = format;
        _writer = new TarWriter(_tar, format, leaveOpen: true);
    }

    public static readonly DateTimeOffset Mtime = new(2021, 3, 4, 5, 6, 7, TimeSpan.Zero);

    public TarBuilder File(string name, byte[] content, UnixFileMode mode = (UnixFileMode)0x1a4) =>
        Add(TarEntryType.RegularFile, name, mode, data: content);

    public TarBuilder File(string name, string content, UnixFileMode mode = (UnixFileMode)0x1a4) =>
        File(name, System.Text.Encoding.UTF8.GetBytes(content), mode);

    public TarBuilder Directory(string name, UnixFileMode mode = (UnixFileMode)0x1ed) => Add(TarEntryType.Directory, name, mode);

    public TarBuilder Symlink(string name, string target) => Add(TarEntryType.SymbolicLink, name, (UnixFileMode)0x1ff, link: target);

    public TarBuilder HardLink(string name, string target) => Add(TarEntryType.HardLink, name, (UnixFileMode)0x1a4, link: target);

    public TarBuilder Special(TarEntryType type, string name) => Add(type, name, (UnixFileMode)0x1a4);

    public TarBuilder Global(string key, string value)
    {
        _writer.WriteEntry(new PaxGlobalExtendedAttributesTarEntry(new Dictionary<string, string> { [key] = value }));
        return this;
    }

    private TarBuilder Add(TarEntryType type, string name, UnixFileMode mode, byte[]? data = null, string? link = null)
    {
        // .NET's pax reader cannot read a pax name with a newline (it splits records at '\n'), so such names go GNU.
        var format = name.Contains('\n') ? TarEntryFormat.Gnu : _format;
        TarEntry entry = format switch
        {
            TarEntryFormat.Gnu => new GnuTarEntry(type, name),
            TarEntryFormat.Ustar => new UstarTarEntry(type, name),
            _ => new PaxTarEntry(type, name),
        };
        entry.Mode = mode;
        entry.ModificationTime = Mtime;
        if (link is not null)
        {
            entry.LinkName = link;
        }
        if (data is not null)
        {
            entry.DataStream = new MemoryStream(data);
        }
        _writer.WriteEntry(entry);
        return this;
    }

    public byte[] Build()
    {
        _writer.Dispose();
        return _tar.ToArray();
    }

    public byte[] BuildGzip() => Gzip(Build());

    public static byte[] Gzip(byte[] bytes)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }
        return output.ToArray();
    }
}
