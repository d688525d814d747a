using Hutch.Daemon.Registry;
using Hutch.Files.Checkpoints;
using Hutch.Linux;
using Hutch.Runtime.Oci;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Daemon.Templates;

/// <summary>One sandbox's writable root as its checkpoints see it (<see cref="IWritableRoot"/>): its upper layer, its merged root, and views of how it was.</summary>
internal sealed class SandboxRoot(SandboxRecord record, TemplatePaths paths, IReadOnlyList<string> layersTopFirst, SafeFileHandle userNamespace) : IWritableRoot
{
    public string UpperDirectory => paths.RootUpper(record.Id);

    public IReadOnlySet<string> MountPoints { get; } = TemplateSkeleton.MountPoints(SandboxSpec.HomeOf(record.SandboxUid));

    public SafeFileHandle OpenLive() => Beneath.OpenRoot(paths.Root(record.Id));

    public SafeFileHandle OpenView(string? savedUpper) =>
        IdMappedOverlay.OpenView(savedUpper is null ? [] : [savedUpper], layersTopFirst, userNamespace, paths.Root(record.Id));
}
