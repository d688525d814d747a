using Hutch.Protocol.Api;

namespace Hutch.Files;

/// <summary>
/// A bound on how deep tree walks go (checkpoints, diff, reset, export, listings). They recurse per
/// directory and hold one fd per level, and a sandbox can nest directories far beyond PATH_MAX
/// (mkdir and chdir in a loop): an unbounded walk would let it overflow the daemon's stack, which no
/// catch can handle. Deleting has no such bound (Hutch.Linux.TreeRemover is iterative).
/// </summary>
internal static class TreeDepth
{
    public const int Max = 256;

    public static bool TooDeep(string relative) => relative.Length != 0 && relative.Count(c => c == '/') >= Max - 1;

    /// <summary>Refuses to walk into <paramref name="relative"/> when it is nested deeper than <see cref="Max"/>.</summary>
    public static void Check(string relative)
    {
        if (!TooDeep(relative))
        {
            return;
        }
        throw new WorkspaceException(ErrorCodes.NameTooLong,
            $"'{Errors.Shorten(relative)}' is nested more than {Max} directories deep, deeper than checkpoints, diff, reset and export go. Flatten or delete that tree, then try again.");
    }
}
