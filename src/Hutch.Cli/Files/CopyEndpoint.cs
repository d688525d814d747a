namespace Hutch.Cli.Files;

/// <summary>One side of `hutch cp`: a local path, or <c>ID:PATH</c> in a sandbox's /workspace, spelled as docker cp spells it.</summary>
/// <param name="Sandbox">The sandbox's id or name; null for a local path.</param>
/// <param name="Path">The local path, or the path relative to /workspace ("" for /workspace itself).</param>
internal readonly record struct CopyEndpoint(string? Sandbox, string Path)
{
    public bool IsRemote => Sandbox is not null;

    /// <summary>
    /// A colon makes an argument remote when what comes before it could be a sandbox's id or name: not
    /// empty and without '/'. So a local path with a colon in it is written <c>./a:b</c> (as with docker cp).
    /// </summary>
    public static CopyEndpoint Parse(string argument)
    {
        var colon = argument.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && argument.IndexOf('/', 0, colon) < 0
            ? new CopyEndpoint(argument[..colon], argument[(colon + 1)..])
            : new CopyEndpoint(null, argument);
    }

    /// <summary>
    /// True when the path names a directory's contents rather than the directory (<c>dir/.</c>, or <c>.</c>):
    /// they are copied into the destination instead of into a new directory of the same name, as with docker cp.
    /// </summary>
    public bool MeansContents => Path is "." || Path.EndsWith("/.", StringComparison.Ordinal);

    public override string ToString() => Sandbox is null ? Path : $"{Sandbox}:{Path}";

    /// <summary>The last name of a workspace path as the daemon normalized it; /workspace itself is "workspace".</summary>
    public static string RemoteName(string normalizedPath)
    {
        var name = normalizedPath[(normalizedPath.LastIndexOf('/') + 1)..];
        return name.Length == 0 ? "workspace" : name;
    }

    /// <summary>A workspace path joined with a name: <c>Join("src", "a.py")</c> is "src/a.py", <c>Join("", "a.py")</c> is "a.py".</summary>
    public static string RemoteJoin(string directory, string name)
    {
        var trimmed = directory.TrimEnd('/');
        return trimmed.Length == 0 ? name : trimmed + "/" + name;
    }
}
