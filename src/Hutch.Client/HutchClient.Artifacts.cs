using Hutch.Protocol.Api;

namespace Hutch.Client;

// Artifacts: the files sandboxes keep (docs/artifacts.md).
public sealed partial class HutchClient
{
    /// <summary>The sandbox's kept files (its own set, or its session's), each with a link that opens without the API key for a while.</summary>
    public Task<ArtifactList> ListArtifactsAsync(string idOrName, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, SandboxPath(idOrName, "/artifacts")), Json.ArtifactList, cancellationToken);

    /// <summary>Keeps one workspace file now, with a purpose, whether or not a glob matches it.</summary>
    public Task<ArtifactInfo> RecordArtifactAsync(string idOrName, string path, string? purpose = null, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, SandboxPath(idOrName, "/artifacts"), new RecordArtifactRequest(path, purpose), Json.RecordArtifactRequest),
            Json.ArtifactInfo, cancellationToken);

    /// <summary>A set's kept files: a sandbox's id, or "session:KEY"; also after its sandboxes are gone.</summary>
    public Task<ArtifactList> GetArtifactSetAsync(string set, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Get, SetPath(set, "")), Json.ArtifactList, cancellationToken);

    /// <summary>A kept file's bytes. Dispose the stream.</summary>
    public Task<Stream> OpenArtifactAsync(string set, string path, CancellationToken cancellationToken = default) =>
        SendForStreamAsync(NewRequest(HttpMethod.Get, SetPath(set, "/content") + Query(("path", path))), cancellationToken);

    /// <summary>Deletes a set: its recorded files newest first, its manifest, its directory; returns what was deleted.</summary>
    public Task<ArtifactCleanup> DeleteArtifactSetAsync(string set, CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Delete, SetPath(set, "")), Json.ArtifactCleanup, cancellationToken);

    /// <summary>Deletes stored content no set names any more (what deleted sets kept); answers how much.</summary>
    public Task<ArtifactPruneResult> PruneArtifactsAsync(CancellationToken cancellationToken = default) =>
        SendForJsonAsync(NewRequest(HttpMethod.Post, "/v1/artifacts/prune"), Json.ArtifactPruneResult, cancellationToken);

    private static string SetPath(string set, string suffix) => "/v1/artifacts/sets/" + Uri.EscapeDataString(set) + suffix;
}
