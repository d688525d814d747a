namespace Hutch.Client.Sync;

/// <summary>
/// Relative '/'-separated paths as sync uses them: validation of what a sandbox sends (a path it
/// chose must never reach outside the local directory), and an order that keeps each subtree together.
/// </summary>
internal static class SyncPath
{
    /// <summary>
    /// Orders paths so that a directory comes right before everything under it: ordinal, except that
    /// '/' sorts before every other character (plain ordinal puts "a-b" between "a" and "a/b").
    /// </summary>
    public static readonly IComparer<string> Comparer = new SubtreeComparer();

    /// <summary>
    /// Throws unless <paramref name="path"/> is a plain relative path: segments that are not empty, ".",
    /// "..", and hold no character the local file system forbids in a name ('/' and NUL on Unix).
    /// </summary>
    public static void Validate(string path)
    {
        if (!IsValid(path))
        {
            throw new SyncException(SyncErrorCodes.InvalidPath,
                $"The sandbox reported a path sync cannot use safely: \"{Escape(path)}\". Paths must be relative, without empty, \".\" or \"..\" segments.");
        }
    }

    public static bool IsValid(string path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or ".." || segment.AsSpan().IndexOfAny(InvalidNameChars) >= 0)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// The workspace-relative root as <see cref="ISyncRemote"/> expects it: no leading or trailing '/',
    /// "" for the whole workspace. "/app/" and "app" are the same root.
    /// </summary>
    public static string NormalizeRoot(string remoteRoot)
    {
        ArgumentNullException.ThrowIfNull(remoteRoot);
        var root = remoteRoot.Trim('/');
        if (root.Length > 0 && !IsValid(root))
        {
            throw new ArgumentException($"\"{remoteRoot}\" is not a workspace directory: use a relative path without \".\" or \"..\", e.g. \"app\", or \"\" for the whole workspace.", nameof(remoteRoot));
        }
        return root;
    }

    /// <summary>The parent of a path, or "" for a top-level entry.</summary>
    public static string Parent(string path) => path.LastIndexOf('/') is var slash and >= 0 ? path[..slash] : "";

    /// <summary>The last segment of a path.</summary>
    public static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>True when <paramref name="path"/> is strictly inside <paramref name="directory"/>.</summary>
    public static bool IsUnder(string path, string directory) =>
        path.Length > directory.Length + 1 && path[directory.Length] == '/' && path.StartsWith(directory, StringComparison.Ordinal);

    /// <summary>Every proper ancestor of a path, outermost first: "a/b/c" gives "a", "a/b".</summary>
    public static IEnumerable<string> Ancestors(string path)
    {
        for (var slash = path.IndexOf('/'); slash >= 0; slash = path.IndexOf('/', slash + 1))
        {
            yield return path[..slash];
        }
    }

    /// <summary>A path with its <paramref name="from"/> prefix (itself or an ancestor) replaced by <paramref name="to"/>.</summary>
    public static string Rebase(string path, string from, string to) => path.Length == from.Length ? to : to + path[from.Length..];

    /// <summary>A path for a message: control characters (a newline in a name) shown as escapes.</summary>
    public static string Escape(string path)
    {
        if (!path.Any(char.IsControl))
        {
            return path;
        }
        var builder = new System.Text.StringBuilder(path.Length + 8);
        foreach (var c in path)
        {
            builder.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }
        return builder.ToString();
    }

    private static readonly char[] InvalidNameChars = Path.GetInvalidFileNameChars();

    private sealed class SubtreeComparer : IComparer<string>
    {
        public int Compare(string? x, string? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }
            if (x is null || y is null)
            {
                return x is null ? -1 : 1;
            }
            var length = Math.Min(x.Length, y.Length);
            for (var i = 0; i < length; i++)
            {
                if (x[i] != y[i])
                {
                    return x[i] == '/' ? -1 : y[i] == '/' ? 1 : x[i].CompareTo(y[i]);
                }
            }
            return x.Length.CompareTo(y.Length);
        }
    }
}
