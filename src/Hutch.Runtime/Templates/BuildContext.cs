using System.Formats.Tar;
using System.Text;
using System.Text.RegularExpressions;
using Hutch.Protocol.Api;

namespace Hutch.Runtime.Templates;

/// <summary>A build context that Hutch cannot use: not a tar, too big, or without what the Dockerfile copies.</summary>
public sealed class BuildContextException(string message, int line = 0) : CodedException(ErrorCodes.BuildContextInvalid, message)
{
    public int Line { get; } = line;
}

/// <summary>One entry of a build context, by its normalized path ("src/a.py", no leading "./" or "/").</summary>
public sealed record ContextEntry(string Path, TarEntryType Type, int Mode, string? LinkTarget, TarEntry Tar);

/// <summary>
/// A build context (the tar a client sends: the directory the Dockerfile's COPY and ADD read from),
/// spooled to an unlinked file and indexed, never extracted: a COPY reads its files from the tar,
/// so no path in it ever reaches the host's file system, and no symlink in it is followed.
/// </summary>
public sealed partial class BuildContext : IAsyncDisposable
{
    private readonly FileStream _spool;
    private readonly TarReader _reader;
    private readonly SortedDictionary<string, ContextEntry> _entries;
    private readonly List<(Regex Pattern, bool Exclude)> _ignore = [];

    private BuildContext(FileStream spool, TarReader reader, SortedDictionary<string, ContextEntry> entries)
    {
        _spool = spool;
        _reader = reader;
        _entries = entries;
    }

    /// <summary>Every entry, in ordinal order of path (directories listed or implied by their contents).</summary>
    public IReadOnlyCollection<ContextEntry> Entries => _entries.Values;

    /// <summary>Spools <paramref name="tar"/> into <paramref name="spoolDirectory"/> (the file is unlinked at once) and indexes it.</summary>
    public static async Task<BuildContext> OpenAsync(Stream tar, string spoolDirectory, LayerLimits limits, CancellationToken cancellationToken)
    {
        var path = System.IO.Path.Join(spoolDirectory, ".context-" + Guid.NewGuid().ToString("N"));
        var spool = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Options = FileOptions.Asynchronous,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        File.Delete(path);
        try
        {
            var buffer = new byte[1 << 16];
            long total = 0;
            int read;
            while ((read = await tar.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
                if (total > limits.MaxBytes)
                {
                    throw new BuildContextException($"the build context is past {limits.MaxBytes >> 20} MiB: list what the build does not need in .dockerignore");
                }
                await spool.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
            spool.Position = 0;
            var reader = new TarReader(spool, leaveOpen: true);
            var entries = new SortedDictionary<string, ContextEntry>(StringComparer.Ordinal);
            try
            {
                TarEntry? entry;
                while ((entry = await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false)) is not null)
                {
                    if (entries.Count >= limits.MaxEntries)
                    {
                        throw new BuildContextException($"the build context has more than {limits.MaxEntries} entries: list what the build does not need in .dockerignore");
                    }
                    if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
                    {
                        continue;
                    }
                    var name = Normalize(entry.Name);
                    if (name is null)
                    {
                        continue; // "./", the context's root
                    }
                    var type = entry.EntryType switch
                    {
                        TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile => TarEntryType.RegularFile,
                        TarEntryType.Directory => TarEntryType.Directory,
                        TarEntryType.SymbolicLink => TarEntryType.SymbolicLink,
                        _ => (TarEntryType?)null,
                    };
                    if (type is { } known)
                    {
                        entries[name] = new ContextEntry(name, known, (int)entry.Mode & 0x1ff, known == TarEntryType.SymbolicLink ? entry.LinkName : null, entry);
                    }
                }
            }
            catch (Exception e) when (e is InvalidDataException or FormatException or EndOfStreamException)
            {
                reader.Dispose();
                throw new BuildContextException($"the build context is not a tar archive ({e.Message}): send the context directory as a tar, as `hutch template build` does");
            }
            return new BuildContext(spool, reader, entries);
        }
        catch
        {
            await spool.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>"./a//b/" as "a/b"; null for the root; a ".." component is refused (nothing may name a path outside the context).</summary>
    public static string? Normalize(string name)
    {
        var parts = new List<string>();
        foreach (var part in name.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }
            if (part == "..")
            {
                throw new BuildContextException($"the context's entry '{name}' climbs out with '..': a build context holds only paths inside it");
            }
            parts.Add(part);
        }
        return parts.Count == 0 ? null : string.Join('/', parts);
    }

    /// <summary>A small text file of the context (the Dockerfile, .dockerignore), or null when it has none.</summary>
    public string? ReadText(string path, int maxBytes)
    {
        var normalized = Normalize(path);
        if (normalized is null || !_entries.TryGetValue(normalized, out var entry))
        {
            return null;
        }
        if (entry.Type != TarEntryType.RegularFile)
        {
            throw new BuildContextException($"'{path}' in the build context is not a regular file (a link or directory): name the file itself");
        }
        if (entry.Tar.Length > maxBytes)
        {
            throw new BuildContextException($"'{path}' is past {maxBytes >> 10} KiB");
        }
        using var data = Open(entry);
        using var text = new StreamReader(data, Encoding.UTF8);
        return text.ReadToEnd();
    }

    /// <summary>The bytes of a regular file of the context.</summary>
    public Stream Open(ContextEntry entry) => entry.Tar.DataStream ?? Stream.Null;

    /// <summary>
    /// Leaves out what .dockerignore lists (Docker's patterns: *, ?, ** and leading ! for exceptions,
    /// the last match winning; a pattern also covers what is under a directory it matches).
    /// </summary>
    public void Ignore(string? dockerignore, params string[] keep)
    {
        if (dockerignore is null)
        {
            return;
        }
        foreach (var raw in dockerignore.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var exclude = !line.StartsWith('!');
            var pattern = Normalize(exclude ? line : line[1..].Trim());
            if (pattern is not null)
            {
                _ignore.Add((Glob(pattern), exclude));
            }
        }
        foreach (var path in _entries.Keys.ToList())
        {
            if (!keep.Contains(path) && IsIgnored(path))
            {
                _entries.Remove(path);
            }
        }
    }

    private bool IsIgnored(string path)
    {
        var ignored = false;
        foreach (var (pattern, exclude) in _ignore)
        {
            // A pattern covers the path when it matches the path or one of its parents.
            for (var prefix = path; prefix.Length > 0; prefix = prefix.LastIndexOf('/') is var slash and >= 0 ? prefix[..slash] : "")
            {
                if (pattern.IsMatch(prefix))
                {
                    ignored = exclude;
                    break;
                }
            }
        }
        return ignored;
    }

    /// <summary>A Docker path pattern as a regex over normalized paths: * and ? stay inside one component, ** spans any.</summary>
    public static Regex Glob(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                i++;
                if (i + 1 < pattern.Length && pattern[i + 1] == '/')
                {
                    i++;
                    regex.Append("(?:.*/)?");
                }
                else
                {
                    regex.Append(".*");
                }
            }
            else if (c == '*')
            {
                regex.Append("[^/]*");
            }
            else if (c == '?')
            {
                regex.Append("[^/]");
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }
        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// What a COPY source names: the entry (and everything under it, when a directory), by its path
    /// relative to what is copied. Wildcards match within the context. A symlink on the way is
    /// refused: the source is read from the tar as it is, never through a link.
    /// </summary>
    public List<(ContextEntry Entry, string Relative)> Select(string source, int line)
    {
        var normalized = Normalize(source);
        var selected = new List<(ContextEntry, string)>();
        if (normalized is null)
        {
            selected.AddRange(_entries.Values.Select(e => (e, e.Path)));
            return selected;
        }
        var roots = HasWildcard(normalized)
            ? _entries.Keys.Where(k => Glob(normalized).IsMatch(k)).ToList()
            : [normalized];
        foreach (var root in roots)
        {
            var parent = root;
            while (parent.LastIndexOf('/') is var slash and > 0)
            {
                parent = parent[..slash];
                if (_entries.TryGetValue(parent, out var above) && above.Type == TarEntryType.SymbolicLink)
                {
                    throw new BuildContextException($"line {line}: '{source}' goes through the symlink '{parent}' in the context: copy the path it points to", line);
                }
            }
            var under = root + "/";
            var any = false;
            if (_entries.TryGetValue(root, out var entry))
            {
                any = true;
                if (entry.Type != TarEntryType.Directory)
                {
                    // A single file (or link) is copied by its own name.
                    selected.Add((entry, entry.Path[(entry.Path.LastIndexOf('/') + 1)..]));
                    continue;
                }
            }
            foreach (var (path, e) in _entries)
            {
                if (path.StartsWith(under, StringComparison.Ordinal))
                {
                    any = true;
                    selected.Add((e, path[under.Length..]));
                }
            }
            if (!any)
            {
                throw new BuildContextException($"line {line}: '{source}' is not in the build context (or .dockerignore leaves it out)", line);
            }
        }
        if (roots.Count == 0)
        {
            throw new BuildContextException($"line {line}: nothing in the build context matches '{source}'", line);
        }
        return selected;
    }

    private static bool HasWildcard(string path) => path.AsSpan().IndexOfAny("*?") >= 0;

    public async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync().ConfigureAwait(false);
        await _spool.DisposeAsync().ConfigureAwait(false);
    }
}
