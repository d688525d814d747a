using Hutch.Daemon.Registry;
using Hutch.Protocol.Api;
using Hutch.Runtime.Oci;

namespace Hutch.Daemon.Engine;

// Disk quotas and block I/O limits: what the host can enforce (HostLimits), the workspace and
// checkpoint directories made as quota directories, and the I/O part of the OCI spec.
public sealed partial class SandboxEngine
{
    /// <summary>What a create may ask for: a caller's own directory is not on the workspace volume, so it gets neither quotas nor I/O limits.</summary>
    private HostLimits LimitsFor(string? hostWorkspace) => hostWorkspace is null
        ? _hostLimits
        : HostLimits.None($"the workspace is the caller's directory {hostWorkspace}, not on Hutch's workspace volume");

    /// <summary>
    /// Makes the sandbox's workspace and its checkpoint store: with a disk limit, each one a quota
    /// directory capped at it (so checkpoints count too, against a cap of their own: reflinked
    /// copies reference the same blocks, and without a cap one sandbox could fill the volume with them).
    /// </summary>
    private void CreateWorkspace(SandboxRecord record)
    {
        var volume = _paths.Volume(record.Id);
        if (record.Limits.DiskMiB is not { } mib || _volume.Quotas is not { } quotas)
        {
            Directory.CreateDirectory(volume, PrivateFiles.TraverseOnlyMode);
        }
        else
        {
            var checkpoints = _paths.Checkpoints(record.Id);
            Directory.CreateDirectory(Path.GetDirectoryName(checkpoints)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            quotas.CreateDirectory(volume, mib << 20);
            quotas.CreateDirectory(checkpoints, mib << 20);
        }
        // The runtime, as the sandbox's mapped root, passes through to bind the workspace.
        File.SetUnixFileMode(volume, PrivateFiles.TraverseOnlyMode);
        Directory.CreateDirectory(_paths.Workspace(record.Id), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private BlockIoLimits? BlockIoOf(SandboxLimits limits) =>
        _blockIo.Device is { } device && (limits.IoWeight ?? limits.IoReadBps ?? limits.IoWriteBps ?? limits.IoReadIops ?? limits.IoWriteIops) is not null
            ? new BlockIoLimits(device, limits.IoWeight, limits.IoReadBps, limits.IoWriteBps, limits.IoReadIops, limits.IoWriteIops)
            : null;
}
