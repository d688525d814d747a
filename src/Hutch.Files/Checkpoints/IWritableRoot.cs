using Microsoft.Win32.SafeHandles;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// The writable root of a sandbox made from a template (an overlay: the template's layers below, the
/// sandbox's upper layer above), as its checkpoints need it. The daemon mounts these; this project
/// only reads upper layers and walks the merged trees through descriptors.
/// </summary>
public interface IWritableRoot
{
    /// <summary>The host path of the sandbox's upper layer: every change its root has had.</summary>
    string UpperDirectory { get; }

    /// <summary>The merged root as the sandbox sees it (without its own mounts): a descriptor of its top directory (O_PATH is enough); changes made beneath it are the sandbox's.</summary>
    SafeFileHandle OpenLive();

    /// <summary>
    /// A read-only view of the root as it was: <paramref name="savedUpper"/> (a checkpoint's copy of
    /// the upper layer) over the template's layers, or the template alone when null; a descriptor of its
    /// top directory that the caller closes.
    /// </summary>
    SafeFileHandle OpenView(string? savedUpper);

    /// <summary>Paths (absolute, inside the sandbox) whose content is not the root's: the sandbox's own mounts, such as /workspace and /tmp. Neither compared nor restored.</summary>
    IReadOnlySet<string> MountPoints { get; }
}
