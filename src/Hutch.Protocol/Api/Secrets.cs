namespace Hutch.Protocol.Api;

/// <summary>
/// Body of <c>POST /v1/secrets</c> (docs/secrets.md). The value is write-only: no answer of the API
/// ever holds it, its length or a hash of it.
/// </summary>
/// <param name="Name">1-128 of <c>[A-Z0-9_]</c>, not starting with a digit (an environment variable's name), unique.</param>
/// <param name="Value">The value as UTF-8 text, 8 bytes to 64 KiB; or give <paramref name="ValueBase64"/>.</param>
/// <param name="ValueBase64">The value as base64, for bytes that are not text.</param>
/// <param name="Description">What it is for, for people (at most 1,024 characters).</param>
/// <param name="Hosts">The host names it may be sent to (<c>api.example.org</c>, <c>*.example.org</c>, optionally <c>:PORT</c>): a sandbox then holds a placeholder the egress proxy swaps for the value in HTTPS requests to them.</param>
/// <param name="Substitute">Where in such a request the placeholder is swapped: "header" (every header but Host; the default), "query" (the request target's query) and "body" (a body of up to 1 MiB that is not compressed).</param>
public sealed record CreateSecretRequest(
    string? Name = null,
    string? Value = null,
    string? ValueBase64 = null,
    string? Description = null,
    string[]? Hosts = null,
    string[]? Substitute = null);

/// <summary>Body of <c>POST /v1/secrets/{name}/rotate</c>: the new value (a new version; the old one is kept for redaction).</summary>
/// <param name="Value">The new value as UTF-8 text, 8 bytes to 64 KiB; or give <paramref name="ValueBase64"/>.</param>
/// <param name="ValueBase64">The new value as base64.</param>
public sealed record RotateSecretRequest(string? Value = null, string? ValueBase64 = null);

/// <summary>A secret as the API shows it: metadata only.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Version">Its current version: 1 at create, one more at each rotation.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="RotatedAt">When its current version was set, when it was rotated; else null.</param>
/// <param name="Description">What it is for, or null.</param>
/// <param name="Hosts">The hosts it may be sent to (normalized), empty when none.</param>
/// <param name="UsedBy">The ids of the sandboxes that use it.</param>
/// <param name="Substitute">Where its placeholder is swapped in requests to its hosts ("header", "query", "body").</param>
public sealed record SecretInfo(string Name, int Version, DateTimeOffset CreatedAt, DateTimeOffset? RotatedAt, string? Description, string[] Hosts,
    string[]? UsedBy = null, string[]? Substitute = null);

/// <summary>Where a placeholder is swapped for its value (<see cref="CreateSecretRequest.Substitute"/>).</summary>
public static class SecretSubstitutions
{
    public const string Header = "header";
    public const string Query = "query";

    /// <summary>A request body (Content-Length or chunked, up to 1 MiB, not compressed): held whole, then sent with its new length.</summary>
    public const string Body = "body";
}

/// <summary>A stored secret given to a sandbox's commands (<c>secrets</c> at create, process or service start).</summary>
/// <param name="Name">The stored secret's name.</param>
/// <param name="As">
/// How the sandbox gets it: "env" (the default: the value in an environment variable of the
/// commands) or "file" (the value in <c>/run/secrets/FILE</c>, a tmpfs: in memory, never on disk).
/// </param>
/// <param name="Env">For "env": the environment variable that holds it; the secret's name when left out.</param>
/// <param name="File">For "file": the file's name in <c>/run/secrets</c>; the secret's name when left out.</param>
public sealed record SecretUse(string Name, string? As = null, string? Env = null, string? File = null);

/// <summary>A secret a sandbox uses, as its GET shows it: never the value.</summary>
/// <param name="Name">The stored secret's name.</param>
/// <param name="As">How the sandbox gets it ("env" or "file").</param>
/// <param name="Env">For "env": the environment variable that holds it; else null.</param>
/// <param name="File">For "file": the file's name in <c>/run/secrets</c>; else null.</param>
public sealed record SecretUseInfo(string Name, string As, string? Env, string? File = null);

/// <summary>How a sandbox gets a secret (<see cref="SecretUse.As"/>).</summary>
public static class SecretKinds
{
    public const string Env = "env";
    public const string File = "file";
    public const string Placeholder = "placeholder";

    /// <summary>The directory file secrets are written to, a tmpfs in every sandbox.</summary>
    public const string FileDir = "/run/secrets";
}

/// <summary>Answer of <c>GET /v1/secrets</c>, by name.</summary>
/// <param name="Secrets">Every secret, metadata only.</param>
public sealed record SecretList(SecretInfo[] Secrets);
