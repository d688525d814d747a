using Microsoft.OpenApi;

namespace Hutch.Daemon.Http.OpenApi;

/// <summary>
/// Descriptions of the path and query parameters, which the endpoints' lambdas cannot carry as XML
/// comments: by name, or by name on one route where the same name means something else there.
/// </summary>
internal static class ApiParameters
{
    private static readonly Dictionary<string, string> ByName = new()
    {
        ["id"] = "The sandbox's id (sb-…) or name.",
        ["process"] = "The background process's id or name (the newest of that name).",
        ["session"] = "The session's name.",
        ["shell"] = "The shell's id or name.",
        ["name"] = "The service's name.",
        ["path"] = "A path relative to /workspace (or absolute inside it); \"\" or left out: the workspace itself.",
        ["offset"] = "Where the read starts, in bytes (default 0).",
        ["length"] = "Bytes to read from offset (default: to the end).",
        ["maxBytes"] = "Most bytes to return; more is 413 file_too_large (files: default 10 MiB, at most 64 MiB; use ranges or the content route).",
        ["encoding"] = "utf8, base64, or auto (files, the default there: text when the bytes are valid UTF-8, else base64).",
        ["recursive"] = "Include (or delete) what is inside directories too. Default false.",
        ["hidden"] = "Include dot files and descend into dot directories. Default true.",
        ["limit"] = "Most entries to return (1-1000000, default 200000); truncated says when there were more.",
        ["hash"] = "Compute each file's sha256. Default false.",
        ["mode"] = "Octal permission bits of the file (\"0755\"); default: the replaced file's, else 0644.",
        ["createParents"] = "Create missing parent directories. Default true.",
        ["overwrite"] = "Replace an existing file. Default true.",
        ["baseline"] = "Make the imported state the workspace's baseline (what diff and reset compare with). Default true.",
        ["keepWorkspace"] = "Keep the workspace's files on the host after the delete. Default false.",
        ["force"] = "Delete a secret even while sandboxes use it (default false: 409 secret_in_use naming them); new commands no longer get it, and what they hold stays redacted.",
        ["wait"] = "Answer once everything of the sandbox is removed (204, the default); false answers 202 at once, with the sandbox 'deleting' (taking no new command) until the daemon has removed it in the background.",
        ["label"] = "KEY=VALUE (or KEY: set to anything); repeat it to keep only the sandboxes with every label given.",
        ["cursor"] = "Where to start in the log, as a cursor from an earlier read or event (default 0: the start of what is kept).",
        ["follow"] = "Stay open for new output until the process ends (default true); false ends at the end of what is there.",
        ["eof"] = "Close the process's stdin after these bytes. Default false.",
        ["graceMs"] = "Milliseconds between SIGHUP and SIGKILL (default 2000).",
        ["since"] = "A checkpoint's name to compare with; the baseline when left out.",
        ["set"] = "An artifact set: a sandbox's id, or session:KEY.",
        ["token"] = "A signed link as an exec result or an artifact list gave it; it grants this one file until it expires.",
        ["includeRoot"] = "Also compare the sandbox's root outside /workspace (a sandbox made from a template): with a checkpoint taken with includeRoot, or with the template itself for the baseline. Default false.",
        ["tail"] = "How many last lines of each stream (1-100000, default 100).",
        ["timeoutMs"] = "How long to wait, in milliseconds (default 30000); the answer then shows it as it is, nothing is killed.",
    };

    private static readonly Dictionary<(string Path, string Name), string> OnRoute = new()
    {
        [("/v1/sandboxes/{id}/checkpoints/{name}", "name")] = "The checkpoint's name.",
        [("/v1/templates/{name}", "name")] = "The template's name.",
        [("/v1/bundles", "name")] = "The bundle's name: 1-63 of [a-z0-9._-], starting with a letter or digit; the push makes its next version (1, 2, …).",
        [("/v1/bundles/{name}", "name")] = "The bundle's name.",
        [("/v1/bundles/{name}", "version")] = "The version to delete (default: every version).",
        [("/v1/sandboxes/{id}/bundles/{name}", "name")] = "The bundle's name.",
        [("/v1/templates", "name")] = "The template's name: 1-63 of [a-z0-9._-], starting with a letter or digit.",
        [("/v1/templates", "format")] = "image (an oci-layout or docker-archive tar, the default) or rootfs (a root file system's tar, one layer: mmdebstrap, docker export).",
        [("/v1/templates", "version")] = "Its new version: 1-64 of [A-Za-z0-9._-] (default: the next number, 1, 2, …); an existing one with the same content is answered as it is.",
        [("/v1/templates/build", "name")] = "The template's name: 1-63 of [a-z0-9._-], starting with a letter or digit.",
        [("/v1/templates/build", "version")] = "Its new version (default: the next number); an existing one with the same content is answered as it is.",
        [("/v1/templates/build", "dockerfile")] = "The Dockerfile's path in the context (default Dockerfile).",
        [("/v1/templates/build", "buildArg")] = "NAME=VALUE for an ARG of the Dockerfile (repeatable), as docker build --build-arg.",
        [("/v1/templates/build", "noCache")] = "Run every step again, taking nothing from the build cache. Default false.",
        [("/v1/templates/build", "network")] = "The build sandboxes' network mode: none, allowlist or public (default: allowlist with the package-registries preset).",
        [("/v1/templates/build", "allow")] = "A host, address, CIDR or net:NAME the build steps may reach (repeatable; implies allowlist).",
        [("/v1/templates/build", "deny")] = "A host, address or CIDR the build steps may never reach (repeatable).",
        [("/v1/templates/build", "preset")] = "A named list of hosts the build steps may reach: package-registries.",
        [("/v1/templates/prune", "cacheOlderThanSeconds")] = "Remove only the build cache entries made more than this many seconds ago (0-3162240000); left out: every entry (those a build in flight uses stay).",
        [("/v1/templates/{name}", "version")] = "One version of it (default: the newest to show; every version to delete).",
        [("/v1/sandboxes/{id}/files/export", "maxBytes")] = "Most bytes of content the tar may hold; more is 413 archive_too_large (default 10 GiB).",
        [("/v1/sandboxes/{id}/files/import", "path")] = "The directory to unpack into, relative to /workspace (default: the workspace itself).",
        [("/v1/sandboxes/{id}/processes/{process}/logs", "maxBytes")] = "Most bytes of log to return (1 to 16 MiB, default 1 MiB); the answer's more says when there is more to read.",
        [("/v1/sandboxes/{id}/exec/outputs/{output}/{stream}", "output")] = "The kept output's id, as a truncated result's fullOutput.id names it (out-…).",
        [("/v1/sandboxes/{id}/exec/outputs/{output}/{stream}", "stream")] = "stdout or stderr.",
        [("/v1/sandboxes/{id}/exec/outputs/{output}/{stream}", "limit")] = "Most bytes to return from offset (default: to the end); the Hutch-Output-Length header gives the stream's whole length.",
        [("/v1/sandboxes/{id}/network/events", "cursor")] = "Where to start, as the cursor of an event read before (default 0: the first event).",
        [("/v1/sandboxes/{id}/network/events", "follow")] = "Stay open for events to come (default false: end at the last event there is).",
        [("/v1/sandboxes/{id}/shells/{shell}/output", "maxBytes")] = "Most bytes of output to return (1 to 16 MiB, default 1 MiB); the answer's more says when there is more to read.",
    };

    public static void Apply(OpenApiDocument document)
    {
        foreach (var (path, item) in document.Paths)
        {
            foreach (var operation in item.Operations?.Values.AsEnumerable() ?? [])
            {
                foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
                {
                    if (parameter.Name is { } name && parameter.Description is null)
                    {
                        parameter.Description = OnRoute.GetValueOrDefault((path, name)) ?? ByName.GetValueOrDefault(name);
                    }
                }
            }
        }
    }
}
