using System.Text;

namespace Hutch.Files.Archives;

/// <summary>
/// The lexical checks on member names and symlink targets (tar-slip). They refuse, with a clear
/// message, what could only be an attack or a mistake; they are not what keeps writes inside the
/// workspace: every file is created through directory fds opened with RESOLVE_BENEATH and
/// RESOLVE_NO_SYMLINKS, so the kernel refuses a way out even where these checks have a blind spot.
/// </summary>
internal static class MemberNames
{
    /// <summary>PATH_MAX less the NUL: a longer member could not be opened by one openat2 call.</summary>
    public const int MaxPathBytes = 4095;
    private const int MaxNameBytes = 255;

    /// <summary>
    /// The member's path relative to the import directory ("a/b"), with "." and empty components
    /// dropped; "" for the archive's own root ("./", as `tar -C dir -cf out.tar .` writes it).
    /// </summary>
    public static string Normalize(string name)
    {
        if (name.Length == 0)
        {
            throw ArchiveErrors.Refused(name, "it has an empty name", "Give every member a name.");
        }
        if (name.Contains('\0'))
        {
            throw ArchiveErrors.Refused(name, "its name contains a NUL byte", "Rename the file.");
        }
        if (name.StartsWith('/'))
        {
            throw ArchiveErrors.Refused(name, "its name is absolute, so it would be written outside the import directory",
                "Create the archive with relative names, for example `tar -C dir -czf out.tgz .`.");
        }
        var parts = new List<string>();
        foreach (var part in name.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                throw ArchiveErrors.Refused(name, "its name has a '..' component, which could climb out of the import directory",
                    "Create the archive with names relative to the directory it is taken from, for example `tar -C dir -czf out.tgz .`.");
            }
            if (part != ".")
            {
                if (Encoding.UTF8.GetByteCount(part) > MaxNameBytes)
                {
                    throw ArchiveErrors.Refused(name, $"a name in it is longer than {MaxNameBytes} bytes, the file system's limit", "Use shorter names.");
                }
                parts.Add(part);
            }
        }
        var path = string.Join('/', parts);
        if (Encoding.UTF8.GetByteCount(path) > MaxPathBytes)
        {
            throw ArchiveErrors.Refused(name, $"its path is longer than {MaxPathBytes} bytes", "Use a shallower tree or shorter names.");
        }
        return path;
    }

    /// <summary>
    /// Refuses a symlink member whose target is absolute, or that climbs above /workspace when read
    /// lexically from the link's own directory (<paramref name="linkDirectory"/>, workspace-relative).
    /// The line is the workspace, not the import directory: a project imported into a subdirectory may
    /// rightly link to a sibling ("../shared"), and the workspace is what the sandbox owns. A link that
    /// escapes through another link cannot be caught lexically, and need not be: the daemon resolves
    /// every path beneath the workspace (an escaping link fails there), and inside the sandbox it
    /// could only reach the sandbox's own root, which the sandbox can link to anyway.
    /// </summary>
    public static void CheckLinkTarget(string member, string target, string linkDirectory)
    {
        const string Todo = "Archive symbolic links with relative targets inside the workspace, or leave them out.";
        if (target.Length == 0 || target.Contains('\0'))
        {
            throw ArchiveErrors.Refused(member, "it is a symbolic link with an empty or NUL-containing target", Todo);
        }
        if (target.StartsWith('/'))
        {
            throw ArchiveErrors.Refused(member, $"it is a symbolic link to the absolute path '{ArchiveErrors.Shown(target)}', outside the workspace", Todo);
        }
        var depth = linkDirectory.Split('/', StringSplitOptions.RemoveEmptyEntries).Length;
        foreach (var part in target.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (--depth < 0)
                {
                    throw ArchiveErrors.Refused(member, $"it is a symbolic link to '{ArchiveErrors.Shown(target)}', which leads out of /workspace", Todo);
                }
            }
            else if (part != ".")
            {
                depth++;
            }
        }
    }
}
