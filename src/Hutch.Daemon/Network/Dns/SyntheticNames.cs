using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon.Network.Dns;

/// <summary>
/// One sandbox's map between the names its resolver answered and their synthetic addresses
/// (docs/design/0009-egress.md, section 1): name <c>i</c> is <c>198.18.1.0 + i</c> and
/// <c>fd68:7574:6368:1::i</c>. Indexes are handed out in order of first use, at most
/// <see cref="MaxNames"/>. With a file, every new name is appended to it as one line
/// (<c>INDEX NAME</c>) before its address is handed out, and a new instance reads it back: a
/// restarted daemon gives the same addresses to names a sandbox still has in its cache.
/// Thread-safe.
/// </summary>
public sealed class SyntheticNames : IDisposable
{
    /// <summary>Names per sandbox: 198.18.1.0 + 65,535 = 198.19.0.255, inside the synthetic range.</summary>
    public const int MaxNames = 65_536;

    private static readonly uint FirstV4 = 198u << 24 | 18u << 16 | 1u << 8;
    private static readonly byte[] V6Prefix = IPAddress.Parse("fd68:7574:6368:1::").GetAddressBytes();

    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _indexes = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly FileStream? _owner;
    private readonly SafeFileHandle? _file;
    private long _length;

    /// <summary>A map kept in memory only.</summary>
    public SyntheticNames()
    {
    }

    private SyntheticNames(FileStream owner)
    {
        _owner = owner;
        _file = owner.SafeFileHandle;
    }

    /// <summary>
    /// The map persisted at <paramref name="path"/> (created 0600 when missing). Lines are read until
    /// the first that is not the next index with a normalized name; the file is cut there, so a line
    /// torn by a crash is dropped rather than glued to the next one.
    /// </summary>
    public static SyntheticNames Open(string path)
    {
        // FileStream only for its create mode: every read and write goes through RandomAccess on the handle.
        var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.OpenOrCreate,
            Access = FileAccess.ReadWrite,
            Share = FileShare.Read,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            BufferSize = 0,
        });
        var names = new SyntheticNames(file);
        try
        {
            names.Load();
            return names;
        }
        catch
        {
            names.Dispose();
            throw;
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _names.Count;
            }
        }
    }

    /// <summary>The name's index, allocating the next one on first use; null when the sandbox already has <see cref="MaxNames"/>.</summary>
    /// <param name="name">A name normalized by <see cref="HostName"/>.</param>
    public int? Allocate(string name)
    {
        lock (_lock)
        {
            if (_indexes.TryGetValue(name, out var index))
            {
                return index;
            }
            if (_names.Count >= MaxNames)
            {
                return null;
            }
            index = _names.Count;
            if (_file is not null)
            {
                // Written to the kernel before the address is handed out: a daemon that dies after this
                // still finds the line. No fsync: if the machine goes down, the sandbox goes with it.
                // At an explicit offset, so a line a full disk cut short is overwritten by the next one.
                var line = Encoding.ASCII.GetBytes($"{index.ToString(CultureInfo.InvariantCulture)} {name}\n");
                RandomAccess.Write(_file, line, _length);
                _length += line.Length;
            }
            _indexes.Add(name, index);
            _names.Add(name);
            return index;
        }
    }

    public int? IndexOf(string name)
    {
        lock (_lock)
        {
            return _indexes.TryGetValue(name, out var index) ? index : null;
        }
    }

    /// <summary>The name behind a synthetic address (either family; IPv4-mapped IPv6 as its IPv4), or null when it is none handed out.</summary>
    public string? NameOf(IPAddress address)
    {
        if (IndexOf(address) is not { } index)
        {
            return null;
        }
        lock (_lock)
        {
            return index < _names.Count ? _names[index] : null;
        }
    }

    public static IPAddress V4(int index) => new(BitConverterBigEndian(FirstV4 + (uint)index));

    public static IPAddress V6(int index)
    {
        var bytes = (byte[])V6Prefix.Clone();
        bytes[14] = (byte)(index >> 8);
        bytes[15] = (byte)index;
        return new IPAddress(bytes);
    }

    /// <summary>The index a synthetic address stands for, or null when it is not in the synthetic ranges.</summary>
    public static int? IndexOf(IPAddress address)
    {
        address = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        var bytes = address.GetAddressBytes();
        long index;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            index = (long)((uint)bytes[0] << 24 | (uint)bytes[1] << 16 | (uint)bytes[2] << 8 | bytes[3]) - FirstV4;
        }
        else if (address.AddressFamily == AddressFamily.InterNetworkV6 && bytes.AsSpan(0, 13).SequenceEqual(V6Prefix.AsSpan(0, 13)))
        {
            index = bytes[13] << 16 | bytes[14] << 8 | bytes[15];
        }
        else
        {
            return null;
        }
        return index is >= 0 and < MaxNames ? (int)index : null;
    }

    private void Load()
    {
        var bytes = new byte[RandomAccess.GetLength(_file!)];
        var read = 0;
        while (read < bytes.Length && RandomAccess.Read(_file!, bytes.AsSpan(read), read) is var n and > 0)
        {
            read += n;
        }
        var text = Encoding.ASCII.GetString(bytes, 0, read);
        var kept = 0;
        foreach (var line in text.Split('\n'))
        {
            if (kept + line.Length + 1 > text.Length || !Accept(line))
            {
                break; // a torn last line (no newline) or a bad one: the map ends here
            }
            kept += line.Length + 1;
        }
        RandomAccess.SetLength(_file!, kept);
        _length = kept;
    }

    private bool Accept(string line)
    {
        var space = line.IndexOf(' ');
        if (space < 1 || !int.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || index != _names.Count || index >= MaxNames)
        {
            return false;
        }
        var name = line[(space + 1)..];
        if (HostName.Normalize(name, out _) != name || _indexes.ContainsKey(name))
        {
            return false;
        }
        _indexes.Add(name, index);
        _names.Add(name);
        return true;
    }

    private static byte[] BitConverterBigEndian(uint value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    public void Dispose() => _owner?.Dispose();
}
