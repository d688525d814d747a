namespace Hutch.Runtime.Oci;

/// <summary>
/// The skeleton root every sandbox shares (read-only) and the generated /etc it mounts. Built once
/// per data dir: empty mount points, the host's merged-/usr links (bin → usr/bin …), and an /etc with
/// only what programs need to name users, resolve localhost and find their Debian alternatives, plus
/// the mount point of the host's public CA store — never a copy of the host's /etc.
/// </summary>
public static class RootfsLayout
{
    private static readonly string[] MountPoints = ["usr", "etc", "proc", "dev", "tmp", "workspace", ".hutch", "root", "home/user", "run/secrets", "bundles", "opt", "mnt"];
    private static readonly string[] UsrLinks = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

    public static void Ensure(string rootfsDir, string etcDir)
    {
        foreach (var dir in MountPoints)
        {
            Directory.CreateDirectory(Path.Join(rootfsDir, dir));
        }
        File.SetUnixFileMode(rootfsDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        // runc gives a tmpfs the mode of the directory it covers, so /tmp's mount point must be 1777 itself.
        File.SetUnixFileMode(Path.Join(rootfsDir, "tmp"), (UnixFileMode)0b1_111_111_111);
        // Likewise /run/secrets: 0700, so only the user (who owns the tmpfs) reads its files' names.
        File.SetUnixFileMode(Path.Join(rootfsDir, "run", "secrets"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var agentMountPoint = Path.Join(rootfsDir, SandboxSpec.AgentPathInside.TrimStart('/'));
        if (!File.Exists(agentMountPoint))
        {
            File.WriteAllBytes(agentMountPoint, []);
        }
        var offeredLinks = new List<string>();
        foreach (var link in UsrLinks)
        {
            // Mirror the host: on merged-/usr systems /bin is a link to usr/bin; anything else is not offered.
            var hostTarget = new FileInfo("/" + link).LinkTarget;
            var ours = Path.Join(rootfsDir, link);
            if (hostTarget is not null && hostTarget.TrimStart('/').StartsWith("usr/", StringComparison.Ordinal))
            {
                offeredLinks.Add(link);
                if (!Path.Exists(ours))
                {
                    File.CreateSymbolicLink(ours, hostTarget.TrimStart('/'));
                }
            }
        }

        CreatePublicDirectory(etcDir);
        WriteIfChanged(Path.Join(etcDir, "passwd"),
            "root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000:Sandbox user:/home/user:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        WriteIfChanged(Path.Join(etcDir, "group"), "root:x:0:\ntty:x:5:\nuser:x:1000:\nnogroup:x:65534:\n");
        WriteIfChanged(Path.Join(etcDir, "hosts"), "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
        WriteIfChanged(Path.Join(etcDir, "nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
        // The daemon's resolver in the sandbox's own namespace (docs/network.md), there only while its
        // policy lets something out; otherwise nothing listens and a lookup fails at once. edns0: the
        // resolver says why it refused a name in an Extended DNS Error, which needs EDNS.
        WriteIfChanged(Path.Join(etcDir, "resolv.conf"), "nameserver 127.0.0.1\noptions edns0 attempts:1\n");
        WriteIfChanged(Path.Join(etcDir, "os-release"), "NAME=\"Hutch sandbox\"\nID=hutch\n");
        WriteIfChanged(Path.Join(etcDir, "protocols"), StockEtcFiles.Protocols);
        WriteIfChanged(Path.Join(etcDir, "services"), StockEtcFiles.Services);
        CreatePublicDirectory(Path.Join(etcDir, "ssl"));
        WriteIfChanged(Path.Join(etcDir, "ssl", "openssl.cnf"), StockEtcFiles.OpensslCnf);
        // The mount point of HostCaStore.CertsDir, always there (empty when the host has no store):
        // /etc is read-only inside, so the runtime could not make it when a later create finds a store.
        CreatePublicDirectory(Path.Join(etcDir, "ssl", "certs"));
        // The mount point of each sandbox's own trust directory (SandboxSpec.TrustDir).
        CreatePublicDirectory(Path.Join(etcDir, "ssl", "hutch"));
        CreatePublicDirectory(Path.Join(etcDir, "alternatives"));
        EtcAlternatives.Mirror(EtcAlternatives.HostDir, etcDir, path => IsVisibleInside(path, offeredLinks));
    }

    /// <summary>Whether a sandbox sees this absolute host path at the same place: under /usr, or under a merged-/usr link it was given.</summary>
    public static bool IsVisibleInside(string path, IEnumerable<string> offeredLinks) =>
        path.StartsWith("/usr/", StringComparison.Ordinal)
        || offeredLinks.Any(link => path.StartsWith($"/{link}/", StringComparison.Ordinal));

    // Sandboxes read /etc as an unmapped "other" (host root is nobody inside), so its modes are set
    // here rather than left to the daemon's umask.
    private const UnixFileMode PublicFile = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private const UnixFileMode PublicDirectory = PublicFile | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private static void CreatePublicDirectory(string path)
    {
        Directory.CreateDirectory(path);
        File.SetUnixFileMode(path, PublicDirectory);
    }

    private static void WriteIfChanged(string path, string content)
    {
        if (!File.Exists(path) || File.ReadAllText(path) != content)
        {
            File.WriteAllText(path, content);
        }
        File.SetUnixFileMode(path, PublicFile);
    }
}
