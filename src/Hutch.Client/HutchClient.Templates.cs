using Hutch.Protocol.Api;

namespace Hutch.Client;

public sealed partial class HutchClient
{
    /// <summary>
    /// Makes a template's version from an image archive (<c>POST /v1/templates</c>): an oci-layout or
    /// docker-archive tar, plain or gzip, as buildah, skopeo or <c>docker save</c> write it, streamed.
    /// </summary>
    /// <param name="archive">The archive's bytes, read to their end.</param>
    /// <param name="name">The template's name.</param>
    /// <param name="version">Its version; null: the next number (1, 2, …).</param>
    /// <param name="rootfs">The archive is a root file system's tar (one layer, as mmdebstrap or <c>docker export</c> write it), not an image.</param>
    /// <param name="cancellationToken">Stops the upload.</param>
    /// <exception cref="HutchApiException">
    /// <c>invalid_template</c> (name or version), <c>template_exists</c>, or the layer's refusal
    /// (<c>layer_invalid_path</c>, <c>layer_through_link</c>, <c>layer_digest_mismatch</c>, <c>image_invalid</c>, …).
    /// </exception>
    public async Task<TemplateInfo> ImportTemplateAsync(Stream archive, string name, string? version = null, bool rootfs = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(archive);
        var request = NewRequest(HttpMethod.Post, "v1/templates?name=" + Uri.EscapeDataString(name) + (version is null ? "" : "&version=" + Uri.EscapeDataString(version))
            + (rootfs ? "&format=rootfs" : ""));
        request.Content = new StreamContent(archive);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-tar");
        return await SendForJsonAsync(request, Json.TemplateInfo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every version of every template, newest first (<c>GET /v1/templates</c>).</summary>
    public async Task<IReadOnlyList<TemplateInfo>> ListTemplatesAsync(CancellationToken cancellationToken = default) =>
        (await SendForJsonAsync(NewRequest(HttpMethod.Get, "v1/templates"), Json.TemplateList, cancellationToken).ConfigureAwait(false)).Templates;

    /// <summary>One template (<c>GET /v1/templates/{name}</c>): its newest version, or <paramref name="version"/>; <c>template_not_found</c> when there is none.</summary>
    public Task<TemplateInfo> GetTemplateAsync(string name, string? version = null, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, TemplatePath(name, version)), Json.TemplateInfo, cancellationToken);

    /// <summary>
    /// Deletes a template's version, or every version without one (<c>DELETE /v1/templates/{name}</c>);
    /// <c>template_in_use</c> while a sandbox has its root from it.
    /// </summary>
    public async Task DeleteTemplateAsync(string name, string? version = null, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Delete, TemplatePath(name, version));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the build cache's entries (all, or those older than <paramref name="cacheOlderThan"/>),
    /// then every layer that no template version, remaining cache entry, import or build uses
    /// (<c>POST /v1/templates/prune</c>); answers what was removed and its bytes. Layers of running
    /// sandboxes are never removed.
    /// </summary>
    public Task<TemplatePruneResult> PruneTemplatesAsync(TimeSpan? cacheOlderThan = null, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, "v1/templates/prune"
            + (cacheOlderThan is { } age ? "?cacheOlderThanSeconds=" + ((long)age.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) : "")),
            Json.TemplatePruneResult, cancellationToken);

    private static string TemplatePath(string name, string? version) =>
        "v1/templates/" + Uri.EscapeDataString(name) + (version is null ? "" : "?version=" + Uri.EscapeDataString(version));
}
