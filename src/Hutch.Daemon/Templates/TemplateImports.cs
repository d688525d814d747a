using Hutch.Runtime.Templates;

namespace Hutch.Daemon.Templates;

/// <summary>
/// Makes template versions from image archives (oci-layout or docker-archive tars, as buildah,
/// skopeo and `docker save` write them): every layer is hostile input to the layer store, which
/// refuses or neutralises what could reach outside it (docs/design/0012-templates-layers.md).
/// </summary>
public sealed class TemplateImports(TemplateStore store, LayerStore layers)
{
    /// <summary>
    /// The environment of a root that came without an image's settings (a rootfs tar, a Debian base):
    /// what a login shell on Debian would have.
    /// </summary>
    public static readonly Dictionary<string, string> RootfsEnv = new(StringComparer.Ordinal)
    {
        ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    };

    /// <summary>A template of one layer from a root file system's tar (plain or gzip), as mmdebstrap or `docker export` write it.</summary>
    public async Task<TemplateRecord> ImportRootfsAsync(Stream tar, string name, string? version, CancellationToken cancellationToken)
    {
        CheckNames(name, version);
        // Pinned from the moment it is stored until the version names it: a prune never takes it meanwhile.
        using var lease = layers.Lease();
        var layer = await layers.AddAsync(tar, LayerLimits.Default, expectedDigest: null, lease, cancellationToken).ConfigureAwait(false);
        return store.Add(name, version, "rootfs", new TemplateManifest([layer.Digest], new Dictionary<string, string>(RootfsEnv, StringComparer.Ordinal)));
    }

    private static void CheckNames(string name, string? version)
    {
        TemplateStore.CheckName(name);
        if (version is not null)
        {
            TemplateStore.CheckVersion(version);
        }
    }

    public async Task<TemplateRecord> ImportArchiveAsync(Stream archive, string name, string? version, CancellationToken cancellationToken)
    {
        CheckNames(name, version);
        using var lease = layers.Lease();
        var image = await ImageArchive.ImportAsync(archive, layers, lease, cancellationToken: cancellationToken).ConfigureAwait(false);
        var config = image.Config;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in config.Env)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                env[pair[..equals]] = pair[(equals + 1)..];
            }
        }
        string[]? cmd = config.Entrypoint is null && config.Cmd is null ? null : [.. config.Entrypoint ?? [], .. config.Cmd ?? []];
        return store.Add(name, version, "image-archive", new TemplateManifest([.. image.Layers], env, config.WorkingDir, config.User, cmd));
    }
}
