using Hutch.Protocol.Api;
using Microsoft.Extensions.FileSystemGlobbing;

namespace Hutch.Artifacts;

/// <summary>
/// The globs that say which workspace files are artifacts, relative to /workspace: <c>**</c> spans
/// directories, <c>*</c>, <c>?</c> and <c>[…]</c> stay within one name (so <c>*.pdf</c> is the
/// workspace's top level only, <c>**/*.pdf</c> any depth), matched ordinally as Linux names are.
/// Each glob's literal directory prefix is a <see cref="Root"/>: detection walks only those.
/// </summary>
public sealed class ArtifactGlobs
{
    public const int MaxGlobs = 64;
    public const int MaxGlobLength = 1024;

    private readonly Matcher _matcher = new(StringComparison.Ordinal);

    /// <summary>A directory detection walks: only its own files, or everything below it.</summary>
    /// <param name="Directory">Relative to /workspace; "" is the workspace itself.</param>
    public readonly record struct Root(string Directory, bool Recursive);

    private ArtifactGlobs(IReadOnlyList<string> globs, IReadOnlyList<Root> roots)
    {
        Globs = globs;
        Roots = roots;
        _matcher.AddIncludePatterns(globs);
    }

    public static ArtifactGlobs None { get; } = new([], []);

    public IReadOnlyList<string> Globs { get; }

    /// <summary>The fewest directories that hold every possible match (one under a recursive other is left out).</summary>
    public IReadOnlyList<Root> Roots { get; }

    /// <summary>Checks and parses <paramref name="globs"/>; invalid_artifact_glob names the first bad one as <paramref name="field"/>[i].</summary>
    public static ArtifactGlobs Parse(IReadOnlyList<string>? globs, string field = "artifacts.globs")
    {
        if (globs is null || globs.Count == 0)
        {
            return None;
        }
        if (globs.Count > MaxGlobs)
        {
            throw Invalid($"{field}: {globs.Count} globs, at most {MaxGlobs}");
        }
        var roots = new List<Root>();
        for (var i = 0; i < globs.Count; i++)
        {
            roots.Add(RootOf(globs[i], $"{field}[{i}]"));
        }
        return new ArtifactGlobs([.. globs], Minimal(roots));
    }

    /// <summary>Whether a file at <paramref name="relativePath"/> (relative to /workspace, '/'-separated) is an artifact.</summary>
    public bool IsMatch(string relativePath) => Globs.Count > 0 && _matcher.Match(relativePath).HasMatches;

    private static Root RootOf(string glob, string field)
    {
        if (string.IsNullOrEmpty(glob) || glob.Length > MaxGlobLength)
        {
            throw Invalid($"{field}: a glob is 1-{MaxGlobLength} characters");
        }
        if (glob.Contains('\0') || glob.Contains('\\'))
        {
            throw Invalid($"{field}: '{Show(glob)}' holds a NUL or a backslash");
        }
        if (glob.StartsWith('/'))
        {
            throw Invalid($"{field}: '{Show(glob)}' is absolute; globs are relative to /workspace (out/**, not /workspace/out/**)");
        }
        var segments = glob.Split('/');
        if (segments.Any(s => s is "" or "." or ".."))
        {
            throw Invalid($"{field}: '{Show(glob)}' has an empty, '.' or '..' part; a glob stays inside /workspace");
        }
        var literal = segments.TakeWhile(s => s.IndexOfAny(['*', '?', '[']) < 0).Count();
        if (literal == segments.Length)
        {
            // A plain path: the file itself, whose directory is walked without recursion.
            return new Root(string.Join('/', segments[..^1]), Recursive: false);
        }
        var rest = segments.Length - literal;
        return new Root(string.Join('/', segments[..literal]), Recursive: rest > 1 || segments[literal] == "**");
    }

    private static List<Root> Minimal(List<Root> roots)
    {
        var kept = new List<Root>();
        foreach (var root in roots.Distinct().OrderBy(r => r.Directory.Length).ThenByDescending(r => r.Recursive))
        {
            if (!kept.Any(k => Covers(k, root)))
            {
                kept.Add(root);
            }
        }
        return kept;
    }

    private static bool Covers(Root outer, Root inner) =>
        outer.Directory == inner.Directory ? outer.Recursive || !inner.Recursive
        : outer.Recursive && (outer.Directory.Length == 0 || inner.Directory.StartsWith(outer.Directory + "/", StringComparison.Ordinal));

    private static string Show(string glob) => glob.Replace("\0", "\\0", StringComparison.Ordinal);

    private static ArtifactException Invalid(string message) => new(ErrorCodes.InvalidArtifactGlob, message);
}
