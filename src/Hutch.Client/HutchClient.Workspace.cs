using System.Net.Http.Headers;
using Hutch.Protocol.Api;

namespace Hutch.Client;

// Whole-workspace operations: tar import/export, patches, checkpoints, diff and reset.
public sealed partial class HutchClient
{
    private static readonly MediaTypeHeaderValue TarMediaType = new("application/x-tar");

    /// <summary>
    /// Unpacks a tar (plain or gzip) into a directory of the workspace. Unsafe members (absolute,
    /// "..", hard links, devices, escaping symlinks, paths through symlinks) refuse the whole archive,
    /// and a refused archive leaves nothing behind.
    /// </summary>
    /// <param name="idOrName">The sandbox's id or name.</param>
    /// <param name="directory">Where to unpack, relative to /workspace ("" for the root); made if missing.</param>
    /// <param name="archive">The tar or tar.gz bytes, streamed.</param>
    /// <param name="setBaseline">Make the result the workspace's baseline for diff and reset (default true).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    public async Task<ImportResult> ImportAsync(string idOrName, string directory, Stream archive, bool setBaseline = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(archive);
        var request = NewRequest(HttpMethod.Post, FilesPath(idOrName, "/import", ("path", directory), ("baseline", Bool(setBaseline))));
        request.Content = new StreamContent(archive, 1 << 20);
        request.Content.Headers.ContentType = TarMediaType;
        AnswerWhileSending(request);
        return await SendForJsonAsync(request, Json.ImportResult, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// For a streamed body the daemon may refuse midway (disk_full, file_too_large, archive_refused):
    /// with "Expect: 100-continue", HttpClient reads the answer while it sends, so the caller gets that
    /// error instead of a broken connection (the daemon stops reading and closes). One round trip more
    /// before the first byte, which a large body does not notice.
    /// </summary>
    private static void AnswerWhileSending(HttpRequestMessage request) => request.Headers.ExpectContinue = true;

    /// <summary>
    /// Streams a path of the workspace as a tar: a file, a directory (members relative to it) or a
    /// symlink (stored as a link). With <paramref name="include"/>, only those entries under it.
    /// At most <paramref name="maxBytes"/> of tar (default 10 GiB, at most 256 GiB): a bigger export is
    /// archive_too_large, at once when its first file alone is too big, else as a stream that breaks off.
    /// </summary>
    public Task<Stream> ExportAsync(string idOrName, string path = "", IReadOnlyList<string>? include = null, long? maxBytes = null,
        CancellationToken cancellationToken = default) =>
        SendForStreamAsync(NewRequest(HttpMethod.Post, FilesPath(idOrName, "/export"), new ExportRequest(path, include?.ToList(), maxBytes), Json.ExportRequest), cancellationToken);

    /// <summary>Applies a unified diff (git style) all or nothing; a failure names the file and hunk.</summary>
    public Task<PatchResult> ApplyPatchAsync(string idOrName, string patch, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, FilesPath(idOrName, "/patch"), new PatchRequest(patch), Json.PatchRequest), Json.PatchResult, cancellationToken);

    /// <summary>Records the workspace as a named checkpoint (cheap: copy-on-write where the file system allows).</summary>
    /// <remarks><c>includeRoot</c>: Also record the sandbox's root (a sandbox made from a template).</remarks>
    public Task<CheckpointInfo> CreateCheckpointAsync(string idOrName, string name, bool includeRoot = false, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, SandboxPath(idOrName, "/checkpoints"), new CreateCheckpointRequest(name, includeRoot), Json.CreateCheckpointRequest),
            Json.CheckpointInfo, cancellationToken);

    /// <summary>Lists the sandbox's named checkpoints, oldest first.</summary>
    public async Task<IReadOnlyList<CheckpointInfo>> ListCheckpointsAsync(string idOrName, CancellationToken cancellationToken = default) =>
        (await SendForJsonAsync(NewRequest(HttpMethod.Get, SandboxPath(idOrName, "/checkpoints")), Json.CheckpointList, cancellationToken).ConfigureAwait(false)).Checkpoints ?? [];

    /// <summary>Deletes a named checkpoint.</summary>
    public async Task DeleteCheckpointAsync(string idOrName, string name, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Delete, SandboxPath(idOrName, "/checkpoints/" + Uri.EscapeDataString(name)));
        using var response = await SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Paths added, modified and deleted since a checkpoint, or since the baseline when <paramref name="since"/> is null.</summary>
    /// <remarks><c>includeRoot</c>: Also compare the sandbox's root (<see cref="WorkspaceDiff.Root"/>): with a checkpoint taken with it, or with the template for the baseline.</remarks>
    public Task<WorkspaceDiff> DiffAsync(string idOrName, string? since = null, bool includeRoot = false, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, SandboxPath(idOrName, "/diff" + Query(("since", since), ("includeRoot", includeRoot ? "true" : null)))),
            Json.WorkspaceDiff, cancellationToken);

    /// <summary>Returns the workspace to a checkpoint, or to the baseline when <paramref name="to"/> is null; returns what was undone.</summary>
    /// <remarks><c>includeRoot</c>: Also return the sandbox's root to it (the sandbox is paused meanwhile).</remarks>
    public Task<WorkspaceDiff> ResetAsync(string idOrName, string? to = null, bool includeRoot = false, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, SandboxPath(idOrName, "/reset"), new ResetRequest(to, includeRoot), Json.ResetRequest), Json.WorkspaceDiff, cancellationToken);
}
