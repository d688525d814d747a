using System.Text.Json.Serialization;

namespace Hutch.Protocol.Api;

/// <summary>One version of a template (docs/templates.md): an immutable root a sandbox can be created from.</summary>
/// <param name="Name">Its name: 1-63 of [a-z0-9._-], starting with a letter or digit.</param>
/// <param name="Version">Its version: 1-64 of [A-Za-z0-9._-], starting with a letter or digit; "1", "2", … when none was given.</param>
/// <param name="Digest">"sha256:…" of its layers and settings: equal content, equal digest.</param>
/// <param name="Source">How it was made: "oci-archive", "docker-archive", "directory".</param>
/// <param name="CreatedAt">When this version was made.</param>
/// <param name="Layers">How many read-only layers its root has.</param>
/// <param name="Env">Environment its sandboxes' commands get (the image's ENV), under the sandbox's own.</param>
/// <param name="WorkingDir">The image's working directory (WORKDIR), kept for reference: commands start in the sandbox's own cwd.</param>
/// <param name="User">The image's user (USER), kept for reference: commands run as the sandbox's user.</param>
/// <param name="Cmd">The image's command (ENTRYPOINT then CMD), kept for reference.</param>
/// <param name="InUse">How many sandboxes have their root from it now.</param>
/// <param name="Start">The start command its sandboxes run (a Dockerfile's ENTRYPOINT and CMD); left out when it has none.</param>
/// <param name="Readiness">When a started sandbox counts as ready (a Dockerfile's HEALTHCHECK CMD, as a command probe); left out when it has none.</param>
public sealed record TemplateInfo(
    string Name,
    string Version,
    string Digest,
    string Source,
    DateTimeOffset CreatedAt,
    int Layers,
    Dictionary<string, string> Env,
    string? WorkingDir,
    string? User,
    string[]? Cmd,
    long InUse,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string[]? Start = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ProbeSpec? Readiness = null);

/// <summary>Answer of <c>GET /v1/templates</c>: every version of every template, newest first.</summary>
/// <param name="Templates">The versions, newest first.</param>
public sealed record TemplateList(TemplateInfo[] Templates);

/// <summary>Answer of <c>POST /v1/templates/prune</c>: what was removed.</summary>
/// <param name="CacheEntries">Build cache entries removed (a build in flight keeps the ones it uses).</param>
/// <param name="Layers">Layers removed: those no template version, no remaining cache entry and no import or build in flight uses.</param>
/// <param name="Bytes">Bytes of the removed layers' files.</param>
/// <param name="RemovedLayers">The removed layers' digests ("sha256:…").</param>
public sealed record TemplatePruneResult(int CacheEntries, int Layers, long Bytes, string[] RemovedLayers);
