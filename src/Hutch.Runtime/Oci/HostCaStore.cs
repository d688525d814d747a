namespace Hutch.Runtime.Oci;

/// <summary>
/// The host's public CA store, which every sandbox gets read-only at the same path. Debian keeps it
/// in /etc/ssl/certs (ca-certificates): the bundle ca-certificates.crt, which OpenSSL's default
/// cafile (/usr/lib/ssl/cert.pem), curl, git, pip, Debian's certifi and Go read, plus hashed links
/// into /usr/share/ca-certificates and /usr/local/share/ca-certificates (both under /usr). Only this
/// directory is offered: its neighbour /etc/ssl/private holds the host's keys and never reaches a
/// sandbox. It is bound, not copied, so `update-ca-certificates` on the host reaches running sandboxes.
/// </summary>
public static class HostCaStore
{
    /// <summary>Where the store is on a Debian host, and where a sandbox sees it.</summary>
    public const string CertsDir = "/etc/ssl/certs";

    /// <summary>Where a sandbox finds its own trust directory (its egress CA, with the host's bundle), beside the host's store.</summary>
    public const string SandboxTrustDir = "/etc/ssl/hutch";

    /// <summary>The bundle of every trusted CA that update-ca-certificates(8) writes.</summary>
    public const string Bundle = "ca-certificates.crt";

    /// <summary>
    /// The store to mount, or null when the host has none (ca-certificates not installed): then a
    /// sandbox's /etc/ssl/certs is empty and TLS verification fails there. A store that is a link
    /// (another distribution's layout) is not followed: what it points into was never checked.
    /// </summary>
    public static string? Find(string certsDir = CertsDir)
    {
        var dir = new DirectoryInfo(certsDir);
        var bundle = new FileInfo(Path.Join(certsDir, Bundle));
        return dir.Exists && dir.LinkTarget is null && bundle.Exists && bundle.LinkTarget is null ? certsDir : null;
    }
}
