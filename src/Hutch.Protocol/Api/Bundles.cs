using System.Text.Json.Serialization;

namespace Hutch.Protocol.Api;

/// <summary>A bundle a sandbox mounts read-only (docs/bundles.md): in <c>CreateSandboxRequest.Bundles</c>.</summary>
/// <param name="Name">The bundle's name.</param>
/// <param name="Version">A version number ("3"), or "latest" (the default): the newest version when it is mounted; the sandbox does not move by itself when a newer one is pushed.</param>
/// <param name="Path">
/// Where it appears inside, absolute; default /bundles/NAME. Under /bundles, one name deep: the sandbox
/// may come from the warm pool. Elsewhere (outside /workspace, /proc, /dev, /tmp, /usr, /etc, the home,
/// /run/secrets and Hutch's own mount points; on the host's root only under /opt or /mnt) the sandbox
/// is started cold, and the path can only be given at create.
/// </param>
public sealed record BundleMount(string Name, string? Version = null, string? Path = null);

/// <summary>Body of <c>PUT /v1/sandboxes/{id}/bundles/{name}</c>: mount a bundle in a running sandbox, or switch it to another version.</summary>
/// <param name="Version">A version number, or "latest" (the default).</param>
/// <param name="Path">Only for a bundle the sandbox does not mount yet: where under /bundles (default /bundles/NAME).</param>
public sealed record SetSandboxBundleRequest(string? Version = null, string? Path = null);

/// <summary>A bundle mounted in a sandbox.</summary>
/// <param name="Name">The bundle's name.</param>
/// <param name="Version">The version mounted now.</param>
/// <param name="Path">Where it appears inside the sandbox.</param>
public sealed record SandboxBundleInfo(string Name, long Version, string Path);

/// <summary>One version of a bundle.</summary>
/// <param name="Version">Its number: 1, 2, … in the order they were pushed.</param>
/// <param name="Digest">"sha256:…" of its tree (paths, kinds, modes, contents, link targets): equal trees, equal digest.</param>
/// <param name="CreatedAt">When it was pushed.</param>
/// <param name="Files">Regular files in it.</param>
/// <param name="Bytes">Bytes of those files.</param>
/// <param name="Sandboxes">Ids of the sandboxes that mount it now.</param>
public sealed record BundleVersionInfo(long Version, string Digest, DateTimeOffset CreatedAt, long Files, long Bytes, string[] Sandboxes);

/// <summary>A bundle: a name and its immutable versions.</summary>
/// <param name="Name">1-63 of [a-z0-9._-], starting with a letter or digit.</param>
/// <param name="Latest">Its newest version, what "latest" mounts.</param>
/// <param name="Versions">Every version, oldest first.</param>
public sealed record BundleInfo(string Name, long Latest, BundleVersionInfo[] Versions);

/// <summary>Answer of <c>GET /v1/bundles</c>.</summary>
/// <param name="Bundles">Every bundle, by name.</param>
public sealed record BundleList(BundleInfo[] Bundles);

/// <summary>Answer of <c>POST /v1/bundles</c>: the version the push made.</summary>
/// <param name="Name">The bundle's name.</param>
/// <param name="Version">The new version's number.</param>
/// <param name="Digest">"sha256:…" of its tree.</param>
/// <param name="Files">Regular files in it.</param>
/// <param name="Bytes">Bytes of those files.</param>
/// <param name="NewFiles">Files whose content no stored version had: only these took new space (the rest are links to stored copies).</param>
/// <param name="Warnings">What was left out and why (device nodes, FIFOs); left out when nothing was.</param>
public sealed record BundlePushResult(
    string Name,
    long Version,
    string Digest,
    long Files,
    long Bytes,
    long NewFiles,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string[]? Warnings = null);

/// <summary>Where bundles appear in a sandbox, and the word for the newest version.</summary>
public static class BundleLocations
{
    /// <summary>Every sandbox's bundle directory: a read-only mount that receives bundles while the sandbox runs.</summary>
    public const string Root = "/bundles";

    /// <summary>The version word that means "the newest when mounted".</summary>
    public const string Latest = "latest";

    /// <summary>Where a bundle appears when no path is given: /bundles/NAME.</summary>
    public static string DefaultPath(string name) => $"{Root}/{name}";

    /// <summary>The path a mount asks for, the default filled in.</summary>
    public static string PathOf(BundleMount mount) => mount.Path ?? DefaultPath(mount.Name);

    /// <summary>Whether a path is a direct child of /bundles (mounted by propagation: no runtime mount needed, pool-eligible).</summary>
    public static bool IsUnderRoot(string path) =>
        path.StartsWith(Root + "/", StringComparison.Ordinal) && path.Length > Root.Length + 1 && path.IndexOf('/', Root.Length + 1) < 0;
}
