using System.Net;

namespace Hutch.Daemon.Network.Dns;

/// <summary>
/// The operator's name overrides for sandboxes (HUTCH_EGRESS_HOSTS_FILE), in /etc/hosts format:
/// <c>ADDRESS NAME [ALIAS…]</c> per line, <c>#</c> to the end of a line is a comment. A name listed
/// here is never asked of the host's resolver: its addresses are exactly the ones listed (every line
/// that names it, in file order). The addresses still go through the always-refused ranges like any
/// other: an override to 10.x works only inside a network the policy opens.
/// </summary>
public sealed class HostsFile
{
    private readonly Dictionary<string, IPAddress[]> _names;

    /// <summary>An empty set of overrides.</summary>
    public static HostsFile Empty { get; } = new(new Dictionary<string, IPAddress[]>(), []);

    private HostsFile(Dictionary<string, IPAddress[]> names, IReadOnlyList<string> problems)
    {
        _names = names;
        Problems = problems;
    }

    /// <summary>Reads the file at <paramref name="path"/> once (a daemon restart reads it again).</summary>
    /// <exception cref="IOException">The file cannot be read; the message names the setting.</exception>
    public HostsFile(string path) : this(Read(path))
    {
    }

    private HostsFile(HostsFile parsed) : this(parsed._names, parsed.Problems)
    {
    }

    /// <summary>Lines that were skipped, each with its number and why (for doctor and the daemon's log).</summary>
    public IReadOnlyList<string> Problems { get; }

    public int Count => _names.Count;

    /// <summary>The listed addresses of <paramref name="name"/> (normalized by <see cref="HostName"/>), or null when the file does not name it.</summary>
    public IPAddress[]? Lookup(string name) => _names.GetValueOrDefault(name);

    /// <summary>A lookup that answers from this file first and asks <paramref name="next"/> only for names it does not list.</summary>
    public Func<string, CancellationToken, Task<IPAddress[]>> Before(Func<string, CancellationToken, Task<IPAddress[]>> next) =>
        (name, cancellationToken) => Lookup(name) is { } listed ? Task.FromResult(listed) : next(name, cancellationToken);

    public static HostsFile Parse(string text)
    {
        var names = new Dictionary<string, List<IPAddress>>(StringComparer.Ordinal);
        var problems = new List<string>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.IndexOf('#') is var hash and >= 0 ? raw[..hash] : raw;
            var fields = line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0)
            {
                continue;
            }
            // IPv4 only as a strict dotted quad (no 010.1.2.3: octal to inet_aton, decimal to others).
            var address = fields[0].Contains(':') ? (IPAddress.TryParse(fields[0], out var v6) && !fields[0].Contains('%') ? v6 : null)
                : InetAton.ParseDottedQuad(fields[0]);
            if (fields.Length < 2 || address is null)
            {
                problems.Add($"line {number}: '{line.Trim()}' is not 'ADDRESS NAME…' with a dotted quad or an IPv6 address without a zone");
                continue;
            }
            foreach (var field in fields.Skip(1))
            {
                if (HostName.Normalize(field, out var error) is not { } name)
                {
                    problems.Add($"line {number}: the name {error}");
                    continue;
                }
                if (!names.TryGetValue(name, out var list))
                {
                    names[name] = list = [];
                }
                if (!list.Contains(address))
                {
                    list.Add(address);
                }
            }
        }
        return new HostsFile(names.ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal), problems);
    }

    private static HostsFile Read(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"HUTCH_EGRESS_HOSTS_FILE: cannot read '{path}': {e.Message}", e);
        }
    }
}
