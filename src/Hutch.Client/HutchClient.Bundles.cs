using System.IO.Pipelines;
using Hutch.Client.Local;
using Hutch.Protocol.Api;

namespace Hutch.Client;

/// <summary>How <see cref="HutchClient.PushBundleAsync(string, string, BundleDirectoryOptions?, CancellationToken)"/> reads a local directory.</summary>
/// <param name="Excludes">
/// Patterns of what to leave out: one without '/' matches any file or directory name (<c>*.pyc</c>,
/// <c>.git</c>), one with '/' the path relative to the directory (<c>docs/*.tmp</c>); '*' and '?' as in a
/// shell. A matched directory is left out with all it holds.
/// </param>
/// <param name="FollowSymlinks">Push what a symbolic link points to instead of the link (a dangling or looping link is then an error).</param>
public sealed record BundleDirectoryOptions(IReadOnlyList<string>? Excludes = null, bool FollowSymlinks = false);

public sealed partial class HutchClient
{
    /// <summary>
    /// Pushes a bundle's next version from a tar (<c>POST /v1/bundles?name=</c>), plain or gzip,
    /// streamed. Its entries are checked as hostile input (no device, no setuid, nothing outside the
    /// tree); files stored already, in any version, are not stored again.
    /// </summary>
    /// <exception cref="HutchApiException"><c>invalid_bundle</c> (a bad name, or a refused entry, named), <c>bundle_too_large</c>.</exception>
    public async Task<BundlePushResult> PushBundleAsync(Stream tar, string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tar);
        var request = NewRequest(HttpMethod.Post, "v1/bundles?name=" + Uri.EscapeDataString(name));
        request.Content = new StreamContent(tar);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-tar");
        return await SendForJsonAsync(request, Json.BundlePushResult, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Pushes a local directory as a bundle's next version: written as a tar while it is uploaded, so
    /// nothing is staged on disk or held whole in memory.
    /// </summary>
    /// <exception cref="IOException">The directory could not be read (a dangling link with <see cref="BundleDirectoryOptions.FollowSymlinks"/>, say).</exception>
    public async Task<BundlePushResult> PushBundleAsync(string directory, string name, BundleDirectoryOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{directory} is not a directory");
        }
        var pipe = new Pipe();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(async () =>
        {
            try
            {
                await BundleTar.WriteAsync(directory, options ?? new BundleDirectoryOptions(), pipe.Writer.AsStream(leaveOpen: true), stop.Token).ConfigureAwait(false);
                await pipe.Writer.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                await pipe.Writer.CompleteAsync(e).ConfigureAwait(false);
                throw;
            }
        }, CancellationToken.None);
        try
        {
            await using var body = pipe.Reader.AsStream();
            var result = await PushBundleAsync(body, name, stop.Token).ConfigureAwait(false);
            await producer.ConfigureAwait(false);
            return result;
        }
        catch (Exception) when (producer.IsFaulted)
        {
            // The directory's own failure says more than the broken upload it caused.
            await producer.ConfigureAwait(false);
            throw;
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await producer.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Reported above, or the upload's failure is the one that matters.
            }
        }
    }

    /// <summary>Every bundle with its versions and the sandboxes that mount each (<c>GET /v1/bundles</c>).</summary>
    public async Task<IReadOnlyList<BundleInfo>> ListBundlesAsync(CancellationToken cancellationToken = default) =>
        (await SendForJsonAsync(NewRequest(HttpMethod.Get, "v1/bundles"), Json.BundleList, cancellationToken).ConfigureAwait(false)).Bundles;

    /// <summary>One bundle (<c>GET /v1/bundles/{name}</c>); <c>bundle_not_found</c> when there is none.</summary>
    public Task<BundleInfo> GetBundleAsync(string name, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, "v1/bundles/" + Uri.EscapeDataString(name)), Json.BundleInfo, cancellationToken);

    /// <summary>
    /// Deletes a bundle's version, or every version without one (<c>DELETE /v1/bundles/{name}</c>);
    /// <c>bundle_in_use</c> (naming them) while a sandbox mounts it.
    /// </summary>
    public async Task DeleteBundleAsync(string name, long? version = null, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Delete, "v1/bundles/" + Uri.EscapeDataString(name) + (version is { } v ? $"?version={v}" : ""));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Mounts a bundle in a running sandbox under /bundles, or switches the one it mounts to another
    /// version (<c>PUT /v1/sandboxes/{id}/bundles/{name}</c>), without a restart: a process that has a
    /// file open keeps reading it, new opens see the new version, the path is never empty.
    /// </summary>
    /// <param name="idOrName">The sandbox.</param>
    /// <param name="name">The bundle.</param>
    /// <param name="version">A version number, or null for the newest ("latest").</param>
    /// <param name="path">Only for a bundle not mounted yet: where under /bundles (default /bundles/NAME).</param>
    /// <param name="cancellationToken">Stops the request.</param>
    public Task<SandboxBundleInfo> SetSandboxBundleAsync(string idOrName, string name, long? version = null, string? path = null, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Put, SandboxBundlePath(idOrName, name),
            new SetSandboxBundleRequest(version?.ToString(System.Globalization.CultureInfo.InvariantCulture), path), Json.SetSandboxBundleRequest),
            Json.SandboxBundleInfo, cancellationToken);

    /// <summary>Unmounts a bundle from a running sandbox (<c>DELETE /v1/sandboxes/{id}/bundles/{name}</c>).</summary>
    public async Task RemoveSandboxBundleAsync(string idOrName, string name, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Delete, SandboxBundlePath(idOrName, name));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    private static string SandboxBundlePath(string idOrName, string name) => SandboxPath(idOrName) + "/bundles/" + Uri.EscapeDataString(name);
}
