namespace Hutch.Runtime.Oci;

/// <summary>
/// The topmost read-only layer of every template sandbox's root: the mount points Hutch binds onto
/// (the agent, its loader and libraries, /workspace, the home, /run/secrets, /etc/resolv.conf and
/// /etc/hosts), so the runtime never has to make them in the sandbox's upper layer, and a template
/// whose /etc/resolv.conf is a link (to a resolver of its own) gets Hutch's file instead. Owned by
/// root on disk, which the idmapped layers show as the sandbox's root.
/// </summary>
public static class TemplateSkeleton
{
    private const UnixFileMode Dir = (UnixFileMode)0b111_101_101;
    private const UnixFileMode PrivateDir = (UnixFileMode)0b111_000_000;
    private const UnixFileMode Sticky = (UnixFileMode)0b1_111_111_111;
    private const UnixFileMode PublicFile = (UnixFileMode)0b110_100_100;

    /// <summary>
    /// Where the sandbox has mounts of its own over its root (<see cref="OciSpecBuilder"/>): what is
    /// there is never the root's, so checkpoints of a root leave these paths out.
    /// </summary>
    /// <param name="home">The home of the sandbox's user (<see cref="SandboxSpec.HomeOf"/>), a tmpfs.</param>
    public static IReadOnlySet<string> MountPoints(string home) => new HashSet<string>(StringComparer.Ordinal)
    {
        "/proc", "/dev", "/tmp", "/workspace", "/.hutch", Hutch.Protocol.Api.BundleLocations.Root, home, Hutch.Protocol.Api.SecretKinds.FileDir, HostCaStore.SandboxTrustDir,
        "/etc/resolv.conf", "/etc/hosts",
    };

    public static void Ensure(string layerDir, AgentLoader loader)
    {
        foreach (var (dir, mode) in new[]
        {
            ("proc", Dir), ("dev", Dir), ("tmp", Sticky), ("workspace", Dir), (".hutch", Dir), (".hutch/lib", Dir),
            ("root", PrivateDir), ("home", Dir), ("home/user", Dir), ("run", Dir), ("run/secrets", PrivateDir),
            ("etc", Dir), ("etc/ssl", Dir), ("etc/ssl/hutch", Dir), ("bundles", Dir),
        })
        {
            var path = Path.Join(layerDir, dir);
            Directory.CreateDirectory(path);
            File.SetUnixFileMode(path, mode);
        }
        var files = new List<string> { SandboxSpec.AgentPathInside, AgentLoader.LoaderInside, "/etc/resolv.conf", "/etc/hosts" };
        files.AddRange(loader.Libraries.Select(library => $"{AgentLoader.LibraryDirInside}/{Path.GetFileName(library)}"));
        foreach (var file in files)
        {
            var path = Path.Join(layerDir, file.TrimStart('/'));
            if (!File.Exists(path))
            {
                File.WriteAllBytes(path, []);
            }
            File.SetUnixFileMode(path, PublicFile);
        }
        File.SetUnixFileMode(layerDir, Dir);
    }
}
