using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Hutch.Tests.Templates;

/// <summary>Builds layer tars entry by entry with TarWriter, owners, xattrs and attack entries included.</summary>
internal sealed class LayerTar
{
    public const int Mode644 = 0x1a4, Mode755 = 0x1ed;
    public static readonly DateTimeOffset Mtime = new(2022, 5, 6, 7, 8, 9, TimeSpan.Zero);

    private readonly MemoryStream _tar = new();
    private readonly TarWriter _writer;

    public LayerTar() => _writer = new TarWriter(_tar, TarEntryFormat.Pax, leaveOpen: true);

    public LayerTar File(string name, string content, int mode = Mode644, int uid = 0, int gid = 0, IDictionary<string, string>? pax = null) =>
        Add(TarEntryType.RegularFile, name, mode, uid, gid, System.Text.Encoding.UTF8.GetBytes(content), pax: pax);

    public LayerTar File(string name, byte[] content, int mode = Mode644) => Add(TarEntryType.RegularFile, name, mode, 0, 0, content);

    public LayerTar Directory(string name, int mode = Mode755, int uid = 0, int gid = 0, IDictionary<string, string>? pax = null) =>
        Add(TarEntryType.Directory, name, mode, uid, gid, pax: pax);

    public LayerTar Symlink(string name, string target) => Add(TarEntryType.SymbolicLink, name, 0x1ff, 0, 0, link: target);

    public LayerTar HardLink(string name, string target) => Add(TarEntryType.HardLink, name, Mode644, 0, 0, link: target);

    public LayerTar Whiteout(string directory, string name) => File(Join(directory, ".wh." + name), "");

    public LayerTar Opaque(string directory) => File(Join(directory, ".wh..wh..opq"), "");

    public LayerTar Special(TarEntryType type, string name, int mode = Mode644) => Add(type, name, mode, 0, 0);

    /// <summary>
    /// An entry of a type TarWriter does not write (a GNU sparse file, 'S'): a ustar regular file
    /// entry whose type byte is changed afterwards, its header checksum made anew.
    /// </summary>
    public LayerTar Raw(char typeflag, string name, byte[] data)
    {
        var one = new MemoryStream();
        using (var writer = new TarWriter(one, TarEntryFormat.Ustar, leaveOpen: true))
        {
            writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data), ModificationTime = Mtime });
        }
        var bytes = one.ToArray()[..(512 + (data.Length + 511) / 512 * 512)];
        bytes[156] = (byte)typeflag;
        Array.Fill(bytes, (byte)' ', 148, 8);
        var sum = bytes.AsSpan(0, 512).ToArray().Sum(b => b);
        System.Text.Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(bytes, 148);
        _tar.Write(bytes);
        return this;
    }

    private static string Join(string directory, string name) => directory.Length == 0 ? name : $"{directory.TrimEnd('/')}/{name}";

    private LayerTar Add(TarEntryType type, string name, int mode, int uid, int gid, byte[]? data = null, string? link = null,
        IDictionary<string, string>? pax = null)
    {
        var entry = pax is null ? new PaxTarEntry(type, name) : new PaxTarEntry(type, name, pax);
        entry.Mode = (UnixFileMode)mode;
        entry.Uid = uid;
        entry.Gid = gid;
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

    public static byte[] Gzip(byte[] bytes)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }
        return output.ToArray();
    }

    /// <summary>The OCI diff_id of an uncompressed tar: "sha256:" and its hex sha256.</summary>
    public static string DiffId(byte[] tar) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar));
}
