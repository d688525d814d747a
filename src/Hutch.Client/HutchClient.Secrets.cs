using Hutch.Protocol.Api;

namespace Hutch.Client;

public sealed partial class HutchClient
{
    /// <summary>
    /// Stores a secret (<c>POST /v1/secrets</c>): its value is encrypted at rest and never returned by
    /// any call; the answer is its metadata.
    /// </summary>
    /// <exception cref="HutchApiException">Code <c>invalid_secret</c> naming the field, <c>secret_exists</c> (rotate instead).</exception>
    public Task<SecretInfo> CreateSecretAsync(CreateSecretRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendForJsonAsync(NewRequest(HttpMethod.Post, "v1/secrets", request, Json.CreateSecretRequest), Json.SecretInfo, cancellationToken);
    }

    /// <summary>Every secret's metadata (<c>GET /v1/secrets</c>).</summary>
    public async Task<IReadOnlyList<SecretInfo>> ListSecretsAsync(CancellationToken cancellationToken = default) =>
        (await SendForJsonAsync(NewRequest(HttpMethod.Get, "v1/secrets"), Json.SecretList, cancellationToken).ConfigureAwait(false)).Secrets;

    /// <summary>One secret's metadata (<c>GET /v1/secrets/{name}</c>); <c>secret_not_found</c> when there is none.</summary>
    public Task<SecretInfo> GetSecretAsync(string name, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, SecretPath(name)), Json.SecretInfo, cancellationToken);

    /// <summary>Gives a secret a new value, a new version (<c>POST /v1/secrets/{name}/rotate</c>).</summary>
    public Task<SecretInfo> RotateSecretAsync(string name, RotateSecretRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendForJsonAsync(NewRequest(HttpMethod.Post, SecretPath(name) + "/rotate", request, Json.RotateSecretRequest), Json.SecretInfo, cancellationToken);
    }

    /// <summary>Deletes a secret and every version of its value (<c>DELETE /v1/secrets/{name}</c>); one that sandboxes use only with <paramref name="force"/> (they keep what they hold).</summary>
    public async Task DeleteSecretAsync(string name, bool force = false, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Delete, SecretPath(name) + (force ? "?force=true" : ""));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    private static string SecretPath(string name) => "v1/secrets/" + Uri.EscapeDataString(name);
}
