using Hutch.Protocol.Api;

namespace Hutch.Client;

public sealed partial class HutchClient
{
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

    private static string TemplatePath(string name, string? version) =>
        "v1/templates/" + Uri.EscapeDataString(name) + (version is null ? "" : "?version=" + Uri.EscapeDataString(version));
}
