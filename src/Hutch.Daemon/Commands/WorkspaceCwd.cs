using Hutch.Files;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Commands;

/// <summary>
/// A command's working directory, named the way every path of the API is (Hutch.Files.WorkspacePath:
/// `src`, `/src` and `/workspace/src` are the same), as the absolute path inside the sandbox. Only
/// lexical, which is all a cwd needs: the command could `cd` anywhere itself.
/// </summary>
public static class WorkspaceCwd
{
    public const string Root = WorkspacePath.Root;

    public static string Resolve(string? path)
    {
        if (path is not null && path.Contains('\0'))
        {
            // Named for the field: a cwd with a NUL is not outside the workspace, it is no path at all.
            throw new HutchException(ErrorCodes.InvalidCwd, "cwd contains a NUL byte, which no path can hold. Remove it.");
        }
        try
        {
            return WorkspacePath.Resolve(path);
        }
        catch (WorkspaceException e)
        {
            throw new HutchException(ErrorCodes.CwdOutsideWorkspace, e.Message);
        }
    }
}
