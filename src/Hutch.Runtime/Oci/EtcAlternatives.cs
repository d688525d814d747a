using Hutch.Linux;

namespace Hutch.Runtime.Oci;

/// <summary>
/// The generated /etc's alternatives directory. Debian names many everyday programs only through it
/// (/usr/bin/awk → /etc/alternatives/awk → /usr/bin/mawk; likewise which, cc, c++, pager, vi, editor:
/// update-alternatives(1)), so without it those names dangle inside a sandbox. It mirrors the host's
/// links whose targets lie in what the sandbox sees (/usr and the merged-/usr links); links are only
/// names, so nothing of the host is copied, and one that points elsewhere (e.g. into the host's /etc)
/// is left out.
/// </summary>
public static class EtcAlternatives
{
    public const string HostDir = "/etc/alternatives";

    /// <summary>
    /// Brings <paramref name="etcDir"/>/alternatives in line with <paramref name="hostDir"/>: adds and
    /// retargets links, removes those the host no longer has. Running sandboxes see the same directory,
    /// so each change is a rename over the old link, never a moment without one.
    /// </summary>
    /// <param name="visibleInside">Whether an absolute, normalized host path is one a sandbox sees at the same place.</param>
    public static void Mirror(string hostDir, string etcDir, Func<string, bool> visibleInside)
    {
        var ours = Path.Join(etcDir, "alternatives");
        Directory.CreateDirectory(ours);
        var wanted = Wanted(hostDir, visibleInside);
        // Changes through the directory's fd, on names: .NET's File.Move and File.Delete look through a
        // link at its target, which here is a host path (perhaps a directory, perhaps missing).
        using var dir = Beneath.OpenRoot(ours);
        foreach (var entry in new DirectoryInfo(ours).EnumerateFileSystemInfos())
        {
            // A link to a directory enumerates as a DirectoryInfo; a retargeted link is replaced below.
            var isLinkOrFile = entry.LinkTarget is not null || entry is FileInfo;
            if (isLinkOrFile && !wanted.ContainsKey(entry.Name))
            {
                At.Unlink(dir, entry.Name);
            }
        }
        foreach (var (name, target) in wanted)
        {
            if (new FileInfo(Path.Join(ours, name)).LinkTarget == target)
            {
                continue;
            }
            var temporary = $".{name}.{Guid.NewGuid():N}";
            At.Symlink(target, dir, temporary);
            At.Rename(dir, temporary, dir, name);
        }
    }

    /// <summary>The host's alternatives that resolve into what a sandbox sees, as name → absolute target.</summary>
    public static Dictionary<string, string> Wanted(string hostDir, Func<string, bool> visibleInside)
    {
        var wanted = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!Directory.Exists(hostDir))
        {
            return wanted;
        }
        foreach (var entry in new DirectoryInfo(hostDir).EnumerateFileSystemInfos())
        {
            // update-alternatives writes absolute targets; a relative one is read as the kernel would.
            if (entry.LinkTarget is { } target && Path.GetFullPath(target, hostDir) is var absolute && visibleInside(absolute))
            {
                wanted[entry.Name] = absolute;
            }
        }
        return wanted;
    }
}
