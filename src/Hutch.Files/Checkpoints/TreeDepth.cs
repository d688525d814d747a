using Hutch.Protocol.Api;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// A bound on how deep the checkpoint walks go. They recurse per directory and hold one fd per
/// level, and a sandbox can nest directories far beyond PATH_MAX (mkdir and chdir in a loop): an
/// unbounded walk would let it overflow the daemon's stack, which no catch can handle.
/// </summary>
internal static class TreeDepth
{
    public const int Max = 256;

    /// <summary>Refuses to walk into <paramref name="relative"/> when it is nested deeper than <see cref="Max"/>.</summary>
    public static void Check(string relative)
    {
        if (relative.Length == 0 || relative.Count(c => c == '/') < Max - 1)
        {
            return;
        }
        throw WorkspaceException.BadRequest(ErrorCodes.NameTooLong,
            $"'{Errors.Shorten(relative)}' is nested more than {Max} directories deep, deeper than checkpoints, diff and reset go. Flatten or delete that tree, then try again.");
    }
}
