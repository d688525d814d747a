using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Api;
using static Hutch.Linux.Interop.Errno;

namespace Hutch.Files;

/// <summary>Turns errno values and containment refusals into <see cref="WorkspaceException"/>s that say what to do.</summary>
internal static class Errors
{

    public static WorkspaceException From(Exception e, string path)
    {
        var shown = Shorten(path);
        return e switch
        {
            WorkspaceException w => w,
            ContainmentException { Violation: ContainmentViolation.Escapes } => WorkspacePath.Outside(path,
                "it, or a symbolic link on its way, leads out of /workspace"),
            ContainmentException => new WorkspaceException(ErrorCodes.PathThroughSymlink, $"'{shown}' passes through a symbolic link, and files are never changed through a linked directory. Use the path the link points to.", e),
            LinuxException l => l.Errno switch
            {
                Errno.ENOENT => new WorkspaceException(ErrorCodes.PathNotFound, $"'{shown}' does not exist in the workspace. List the directory to see what is there.", e),
                Errno.ENOTDIR => new WorkspaceException(ErrorCodes.NotADirectory, $"A part of '{shown}' is not a directory.", e),
                EISDIR => new WorkspaceException(ErrorCodes.IsADirectory, $"'{shown}' is a directory.", e),
                EEXIST => new WorkspaceException(ErrorCodes.PathExists, $"'{shown}' already exists. Delete it first, or ask to overwrite.", e),
                ENOTEMPTY => new WorkspaceException(ErrorCodes.DirectoryNotEmpty, $"The directory '{shown}' is not empty. Delete it with ?recursive=true, or empty it first.", e),
                ENAMETOOLONG => new WorkspaceException(ErrorCodes.NameTooLong, $"'{shown}' is too long (255 bytes per name, 4096 per path).", e),
                ELOOP => new WorkspaceException(ErrorCodes.PathThroughSymlink, $"'{shown}' is a symbolic link (or passes through one) where a real file or directory is needed.", e),
                ENOSPC or EDQUOT or EFBIG => DiskFull(shown, e),
                Errno.EACCES or Errno.EPERM => new WorkspaceException(ErrorCodes.PermissionDenied, $"'{shown}' cannot be changed: permission denied (is it immutable or on a read-only mount?).", e),
                _ => new WorkspaceException(ErrorCodes.Internal, $"A file operation on '{shown}' failed: {l.Message}", e),
            },
            IOException io when DiskFullHResult(io.HResult) => DiskFull(shown, io),
            _ => new WorkspaceException(ErrorCodes.Internal, $"A file operation on '{shown}' failed: {e.Message}", e),
        };
    }

    /// <summary>.NET streams report errno in the low bits of HResult on Unix.</summary>
    private static bool DiskFullHResult(int hresult) => (hresult & 0xffff) is ENOSPC or EDQUOT or EFBIG;

    public static WorkspaceException DiskFull(string shown, Exception? e = null) => new(ErrorCodes.DiskFull, $"The workspace's disk is full while writing '{shown}'; nothing was written. Delete files or checkpoints and try again.", e);

    /// <summary>Keeps messages readable when a name is very long.</summary>
    public static string Shorten(string path) => path.Length <= 200 ? path : path[..100] + "…" + path[^60..];
}
