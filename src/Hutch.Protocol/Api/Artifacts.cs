namespace Hutch.Protocol.Api;

/// <summary>
/// Which of a sandbox's files are kept as artifacts (docs/artifacts.md): globs over /workspace, and
/// a session key that outlives sandboxes.
/// </summary>
/// <param name="Globs">Relative to /workspace: <c>out/**</c> (everything under out), <c>*.pdf</c> (the top level), <c>**/*.csv</c> (any depth). At most 64.</param>
/// <param name="Session">A chat or task id (1-128 of letters, digits, '.', '_', '-'): the set is the session's, outlives the sandbox, and a new sandbox of the session gets its files back when none of the session runs.</param>
public sealed record ArtifactSpec(string[]? Globs = null, string? Session = null);

/// <summary>One kept file.</summary>
/// <param name="Path">Relative to /workspace.</param>
/// <param name="Purpose">Why it was kept: "output" for a glob's match, or what the caller said when recording it.</param>
/// <param name="Size">Bytes.</param>
/// <param name="Sha256">The content's SHA-256 (hex); null while pending.</param>
/// <param name="Created">When this version was kept.</param>
/// <param name="State"><c>stored</c>, or <c>pending</c> when the store could not be reached (retried).</param>
/// <param name="Url">A link that opens the file without the API key, for a while (S3: presigned; local store: signed by the daemon); null while pending.</param>
public sealed record ArtifactInfo(string Path, string Purpose, long Size, string? Sha256, DateTimeOffset Created, string State, string? Url = null);

/// <summary>A set's artifacts (<c>GET /v1/sandboxes/{id}/artifacts</c>).</summary>
/// <param name="Set">The set's id: the sandbox's id, or session:KEY.</param>
/// <param name="Artifacts">Its files, by path; pending ones too.</param>
public sealed record ArtifactList(string Set, List<ArtifactInfo> Artifacts);

/// <summary>Body of <c>POST /v1/sandboxes/{id}/artifacts</c>: keep one file now, glob or not.</summary>
/// <param name="Path">A regular file in /workspace (relative or absolute inside it); not a symlink.</param>
/// <param name="Purpose">Why it is kept (at most 256 characters); default "output".</param>
public sealed record RecordArtifactRequest(string Path = "", string? Purpose = null);

/// <summary>What a set's cleanup deleted (<c>DELETE /v1/artifacts/sets/{set}</c>).</summary>
/// <param name="Set">The set deleted.</param>
/// <param name="Deleted">The paths of the files it recorded, newest first, all deleted.</param>
public sealed record ArtifactCleanup(string Set, List<string> Deleted);

/// <summary>What a prune of the artifact store removed (<c>POST /v1/artifacts/prune</c>).</summary>
/// <param name="Blobs">Stored contents deleted: no set names them any more.</param>
/// <param name="Bytes">Their size in bytes.</param>
public sealed record ArtifactPruneResult(int Blobs, long Bytes);

/// <summary>The values of <see cref="ArtifactInfo.State"/>.</summary>
public static class ArtifactStates
{
    public const string Stored = "stored";
    public const string Pending = "pending";
}
