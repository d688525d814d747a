using Hutch.Protocol.Api;

namespace Hutch.Files;

/// <summary>
/// The one path resolver of every API that names a place in the workspace. `src/a.py`, `/src/a.py`
/// and `/workspace/src/a.py` are the same file; the result is relative to the workspace root ("" is
/// the root itself) with no ".", ".." or empty components. This is only the lexical half: the
/// kernel enforces containment when the path is opened (<see cref="Workspace"/> uses openat2), so a
/// symlink planted inside cannot lead out either.
/// </summary>
public static class WorkspacePath
{
    public const string Root = "/workspace";

    /// <summary>
    /// Top-level directories of the sandbox's own root. A leading-slash path that starts with one of
    /// them (`/tmp/x`, `/etc/passwd`) means that directory, not the workspace, so it is refused rather
    /// than quietly written as /workspace/tmp/x.
    /// </summary>
    private static readonly HashSet<string> SandboxRootNames =
    [
        "bin", "boot", "dev", "etc", "home", "lib", "lib32", "lib64", "libx32", "media", "mnt", "opt",
        "proc", "root", "run", "sbin", "srv", "sys", "tmp", "usr", "var", ".hutch",
    ];

    /// <summary>Normalizes an API path to a workspace-relative one ("" for the root).</summary>
    /// <exception cref="WorkspaceException">path_outside_workspace or invalid_path.</exception>
    public static string Relative(string? path)
    {
        if (string.IsNullOrEmpty(path) || path is "." or "/" || path == Root)
        {
            return "";
        }
        if (path.Contains('\0'))
        {
            throw Invalid(path, "it contains a NUL byte");
        }
        string rest;
        if (path.StartsWith(Root + "/", StringComparison.Ordinal))
        {
            rest = path[Root.Length..];
        }
        else if (path.StartsWith('/'))
        {
            var first = path.TrimStart('/').Split('/', 2)[0];
            if (SandboxRootNames.Contains(first))
            {
                throw Outside(path, $"/{first} is the sandbox's own directory, not part of the workspace");
            }
            rest = path;
        }
        else
        {
            rest = path;
        }
        var parts = new List<string>();
        foreach (var part in rest.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    throw Outside(path, "'..' climbs above /workspace");
                }
                parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        var relative = string.Join('/', parts);
        CheckLength(path, parts, relative);
        return relative;
    }

    /// <summary>The kernel's limits: 255 bytes per name (NAME_MAX), 4096 per path with its NUL (PATH_MAX).</summary>
    public const int MaxNameBytes = 255, MaxPathBytes = 4095;

    /// <summary>
    /// Refuses a path the kernel could not name, before anything is made: walking component by
    /// component (as mkdir with parents does) would otherwise create a tree that no path can reach.
    /// </summary>
    private static void CheckLength(string path, List<string> parts, string relative)
    {
        if (parts.Any(p => System.Text.Encoding.UTF8.GetByteCount(p) > MaxNameBytes))
        {
            throw TooLong(path, $"a name in it is longer than {MaxNameBytes} bytes");
        }
        var bytes = System.Text.Encoding.UTF8.GetByteCount(Absolute(relative));
        if (bytes > MaxPathBytes)
        {
            throw TooLong(path, $"it is {bytes} bytes as /workspace/…, over the {MaxPathBytes}-byte limit");
        }
    }

    private static WorkspaceException TooLong(string path, string why) => new WorkspaceException(ErrorCodes.NameTooLong,
        $"The path '{Errors.Shorten(path)}' is too long ({why}). Use shorter names or a shallower tree.");

    /// <summary>The path as the sandbox sees it: "/workspace" or "/workspace/src/a.py".</summary>
    public static string Absolute(string relative) => relative.Length == 0 ? Root : Root + "/" + relative;

    /// <summary>Normalizes a path to the absolute form inside the sandbox (for a command's working directory).</summary>
    public static string Resolve(string? path) => Absolute(Relative(path));

    /// <summary>Splits "a/b/c" into ("a/b", "c"); the root has no parent.</summary>
    public static (string Parent, string Name) Split(string relative)
    {
        var slash = relative.LastIndexOf('/');
        return slash < 0 ? ("", relative) : (relative[..slash], relative[(slash + 1)..]);
    }

    /// <summary>Joins a workspace-relative directory and a name or relative path.</summary>
    public static string Join(string directory, string name) => directory.Length == 0 ? name : directory + "/" + name;

    internal static WorkspaceException Outside(string path, string why) => new WorkspaceException(ErrorCodes.PathOutsideWorkspace,
        $"The path '{path}' is outside the workspace ({why}). Give a path inside /workspace: relative like 'src/a.py', or absolute like '/workspace/src/a.py'.");

    private static WorkspaceException Invalid(string path, string why) => new WorkspaceException(ErrorCodes.InvalidPath,
        $"The path '{path.Replace("\0", "\\0")}' is not valid ({why}).");
}
