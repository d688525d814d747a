using Hutch.Runtime.Templates;

namespace Hutch.Daemon.Templates;

/// <summary>
/// Makes template versions from image archives (oci-layout or docker-archive tars, as buildah,
/// skopeo and `docker save` write them): every layer is hostile input to the layer store, which
/// refuses or neutralises what could reach outside it (docs/design/0012-templates-layers.md).
/// </summary>
public sealed class TemplateImports(TemplateStore store, LayerStore layers)
{
    public async Task<TemplateRecord> ImportArchiveAsync(Stream archive, string name, string? version, CancellationToken cancellationToken)
    {
        TemplateStore.CheckName(name);
        if (version is not null)
        {
            TemplateStore.CheckVersion(version);
        }
        var image = await ImageArchive.ImportAsync(archive, layers, cancellationToken: cancellationToken).ConfigureAwait(false);
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
