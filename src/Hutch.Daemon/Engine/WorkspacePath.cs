using Hutch.Protocol.Api;

namespace Hutch.Daemon.Engine;

/// <summary>
/// Turns the ways a caller may name a place in the workspace (`src`, `/src`, `/workspace/src`) into
/// one absolute path inside the sandbox, refusing anything that leaves /workspace. This is a lexical
/// check for the working directory of a command, which needs no more: the command could `cd`
/// anywhere itself. File APIs add kernel-enforced containment (openat2) on top.
/// </summary>
public static class WorkspacePath
{
    public const string Root = "/workspace";

    public static string Resolve(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "." || path == "/")
        {
            return Root;
        }
        if (path.Contains('\0'))
        {
            throw Outside(path, "it contains a NUL byte");
        }
        var relative = path.StartsWith(Root + "/", StringComparison.Ordinal) || path == Root
            ? path[Root.Length..]
            : path;
        var parts = new List<string>();
        foreach (var part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
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
        return parts.Count == 0 ? Root : Root + "/" + string.Join('/', parts);
    }

    private static HutchException Outside(string path, string why) => HutchException.BadRequest(ErrorCodes.CwdOutsideWorkspace,
        $"The path '{path}' is outside the workspace ({why}). Give a path relative to /workspace, like 'src' or '/workspace/src'.");
}
