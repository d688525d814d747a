using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// Copies a writable root's upper layer (every change the sandbox's root has had) into a checkpoint,
/// in overlayfs' own format, so the copy can be a lower layer again (<see cref="IWritableRoot.OpenView"/>):
/// files are reflinked, directories keep their opaque mark, whiteouts (the character device 0:0
/// that hides a template's file) are made again. Owner, mode and mtime are kept as they are; the
/// copy lives in the root-only checkpoint store and is never executed or mounted with suid.
/// </summary>
/// <remarks>
/// The daemon pauses the sandbox around a capture, so nothing writes the upper layer meanwhile;
/// every name is still opened without following links, as everywhere in a sandbox's trees.
/// Other overlayfs attributes (origin, impure) are not copied: they only serve a mounted upper layer.
/// </remarks>
internal sealed class UpperCopy(CancellationToken cancellationToken)
{
    /// <summary>overlayfs marks a directory that hides everything below it with this attribute ("y").</summary>
    public const string OpaqueAttribute = "trusted.overlay.opaque";

    private const int OwnerOnly = 0x1c0;
    private const int CharacterDevice = 0x2000;

    /// <summary>Entries copied (the upper layer's root aside).</summary>
    public int Entries { get; private set; }

    /// <summary>Bytes of the files copied.</summary>
    public long Bytes { get; private set; }

    /// <summary>Copies the contents of the upper layer <paramref name="source"/> into the empty <paramref name="target"/>, and its root's attributes.</summary>
    public void Run(SafeFileHandle source, SafeFileHandle target)
    {
        CopyContents(source, target, "");
        SetAttributes(source, target, At.Stat(source, ""));
    }

    private void CopyContents(SafeFileHandle source, SafeFileHandle target, string relative)
    {
        TreeDepth.Check(relative);
        foreach (var entry in At.ReadDirectory(source))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var path = WorkspacePath.Join(relative, entry.Name);
            try
            {
                Copy(source, target, entry.Name, path);
            }
            catch (Exception e) when (e is LinuxException or ContainmentException or IOException)
            {
                throw Errors.From(e, "/" + path);
            }
        }
    }

    private void Copy(SafeFileHandle source, SafeFileHandle target, string name, string path)
    {
        if (At.TryStat(source, name) is not { } status)
        {
            return;
        }
        switch (status.Kind)
        {
            case EntryKind.Directory when NoFollow.Directory(source, name) is { } child:
                using (child)
                {
                    At.MakeDirectory(target, name, OwnerOnly);
                    using var copy = Beneath.Open(target, name, NoFollow.DirectoryFlags, noSymlinks: true);
                    Entries++;
                    CopyContents(child, copy, path);
                    SetAttributes(child, copy, status);
                }
                break;
            case EntryKind.File when NoFollow.File(source, name) is var (file, fileStatus):
                using (file)
                {
                    using var copy = Beneath.Open(target, name, Beneath.O_WRONLY | Beneath.O_CREAT | Beneath.O_EXCL | Beneath.O_NOFOLLOW, 0x180, noSymlinks: true);
                    FileClone.Copy(file, copy);
                    Entries++;
                    Bytes += fileStatus.Size;
                    SetAttributes(file, copy, fileStatus);
                }
                break;
            case EntryKind.Symlink when NoFollow.Symlink(source, name) is var (linkStatus, link):
                At.Symlink(link, target, name);
                At.Chown(target, name, (int)linkStatus.Uid, (int)linkStatus.Gid);
                At.SetTimes(target, name, linkStatus.MtimeNs);
                Entries++;
                break;
            case EntryKind.Other when IsWhiteout(status):
                At.MakeNode(target, name, CharacterDevice);
                At.Chown(target, name, (int)status.Uid, (int)status.Gid);
                Entries++;
                break;
            default:
                break;   // FIFOs and sockets a sandbox made: not part of a root's state, as in a workspace checkpoint
        }
    }

    /// <summary>overlayfs' whiteout: a character device numbered 0:0.</summary>
    public static bool IsWhiteout(EntryStatus status) => status.Type == CharacterDevice && status.SpecialDevice == (0, 0);

    /// <summary>Owner, mode, mtime and (for a directory) the opaque mark of the copy, from the original.</summary>
    private static void SetAttributes(SafeFileHandle original, SafeFileHandle copy, EntryStatus status)
    {
        if (status.Kind == EntryKind.Directory && At.GetXattr(original, OpaqueAttribute) is { } opaque)
        {
            At.SetXattr(copy, OpaqueAttribute, opaque);
        }
        At.Chown(copy, "", (int)status.Uid, (int)status.Gid);
        At.Chmod(copy, status.Permissions);
        At.SetTimes(copy, "", status.MtimeNs);
    }
}
