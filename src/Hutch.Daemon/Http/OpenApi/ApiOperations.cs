using Microsoft.OpenApi;

namespace Hutch.Daemon.Http.OpenApi;

/// <summary>
/// Every route's operationId (stable: generated clients name their methods by it, so never rename one)
/// and its tag (the feature it belongs to). A route missing here has neither, which ApiDocumentTests
/// and `redocly lint` catch: add it.
/// </summary>
internal static class ApiOperations
{
    private const string Sandbox = "/v1/sandboxes/{id}";

    private static readonly Dictionary<(string Method, string Path), (string Id, string Tag)> Operations = new()
    {
        [("GET", "/v1/health")] = ("getHealth", "daemon"),
        [("POST", "/v1/sandboxes")] = ("createSandbox", "sandboxes"),
        [("GET", "/v1/sandboxes")] = ("listSandboxes", "sandboxes"),
        [("GET", Sandbox)] = ("getSandbox", "sandboxes"),
        [("PATCH", Sandbox)] = ("updateSandbox", "sandboxes"),
        [("DELETE", Sandbox)] = ("deleteSandbox", "sandboxes"),
        [("GET", Sandbox + "/events")] = ("listSandboxEvents", "sandboxes"),

        [("POST", Sandbox + "/exec")] = ("execCommand", "exec"),
        [("POST", Sandbox + "/exec/stream")] = ("execCommandStream", "exec"),
        [("GET", Sandbox + "/exec/outputs/{output}/{stream}")] = ("readExecOutput", "exec"),

        [("GET", Sandbox + "/files")] = ("readFile", "files"),
        [("PUT", Sandbox + "/files")] = ("writeFile", "files"),
        [("DELETE", Sandbox + "/files")] = ("deleteFile", "files"),
        [("GET", Sandbox + "/files/content")] = ("downloadFile", "files"),
        [("PUT", Sandbox + "/files/content")] = ("uploadFile", "files"),
        [("GET", Sandbox + "/files/list")] = ("listFiles", "files"),
        [("GET", Sandbox + "/files/stat")] = ("statFile", "files"),
        [("POST", Sandbox + "/files/mkdir")] = ("makeDirectory", "files"),
        [("POST", Sandbox + "/files/move")] = ("moveFile", "files"),
        [("POST", Sandbox + "/files/import")] = ("importArchive", "files"),
        [("GET", Sandbox + "/files/export")] = ("exportArchive", "files"),
        [("POST", Sandbox + "/files/export")] = ("exportEntries", "files"),
        [("POST", Sandbox + "/files/patch")] = ("applyPatch", "files"),
        [("POST", Sandbox + "/checkpoints")] = ("createCheckpoint", "checkpoints"),
        [("GET", Sandbox + "/checkpoints")] = ("listCheckpoints", "checkpoints"),
        [("DELETE", Sandbox + "/checkpoints/{name}")] = ("deleteCheckpoint", "checkpoints"),
        [("GET", Sandbox + "/diff")] = ("diffWorkspace", "checkpoints"),
        [("POST", Sandbox + "/reset")] = ("resetWorkspace", "checkpoints"),

        [("POST", Sandbox + "/processes")] = ("startProcess", "processes"),
        [("GET", Sandbox + "/processes")] = ("listProcesses", "processes"),
        [("GET", Sandbox + "/processes/{process}")] = ("getProcess", "processes"),
        [("DELETE", Sandbox + "/processes/{process}")] = ("deleteProcess", "processes"),
        [("POST", Sandbox + "/processes/{process}/wait")] = ("waitProcess", "processes"),
        [("POST", Sandbox + "/processes/{process}/stdin")] = ("writeProcessStdin", "processes"),
        [("POST", Sandbox + "/processes/{process}/signal")] = ("signalProcess", "processes"),
        [("POST", Sandbox + "/processes/{process}/kill")] = ("killProcess", "processes"),
        [("GET", Sandbox + "/processes/{process}/logs")] = ("getProcessLogs", "processes"),
        [("GET", Sandbox + "/processes/{process}/logs/stream")] = ("streamProcessLogs", "processes"),

        [("POST", Sandbox + "/sessions")] = ("createSession", "sessions"),
        [("GET", Sandbox + "/sessions")] = ("listSessions", "sessions"),
        [("GET", Sandbox + "/sessions/{session}")] = ("getSession", "sessions"),
        [("DELETE", Sandbox + "/sessions/{session}")] = ("deleteSession", "sessions"),
        [("POST", Sandbox + "/sessions/{session}/exec")] = ("execInSession", "sessions"),

        [("POST", Sandbox + "/services")] = ("startService", "services"),
        [("GET", Sandbox + "/services")] = ("listServices", "services"),
        [("GET", Sandbox + "/services/{name}")] = ("getService", "services"),
        [("DELETE", Sandbox + "/services/{name}")] = ("deleteService", "services"),
        [("POST", Sandbox + "/services/{name}/wait")] = ("waitService", "services"),
        [("GET", Sandbox + "/services/{name}/logs")] = ("getServiceLogs", "services"),
        [("POST", Sandbox + "/services/{name}/stop")] = ("stopService", "services"),

        [("POST", Sandbox + "/shells")] = ("openShell", "shells"),
        [("GET", Sandbox + "/shells")] = ("listShells", "shells"),
        [("GET", Sandbox + "/shells/{shell}")] = ("getShell", "shells"),
        [("DELETE", Sandbox + "/shells/{shell}")] = ("closeShell", "shells"),
        [("POST", Sandbox + "/shells/{shell}/input")] = ("writeShellInput", "shells"),
        [("GET", Sandbox + "/shells/{shell}/output")] = ("readShellOutput", "shells"),
        [("POST", Sandbox + "/shells/{shell}/resize")] = ("resizeShell", "shells"),
        [("POST", Sandbox + "/shells/{shell}/signal")] = ("signalShell", "shells"),
        [("GET", Sandbox + "/shells/{shell}/attach")] = ("attachShell", "shells"),
        [("GET", Sandbox + "/network/events")] = ("readNetworkEvents", "network"),
        [("GET", "/v1/network/presets")] = ("listNetworkPresets", "network"),
        [("POST", "/v1/secrets")] = ("createSecret", "secrets"),
        [("GET", "/v1/secrets")] = ("listSecrets", "secrets"),
        [("GET", "/v1/secrets/{name}")] = ("getSecret", "secrets"),
        [("POST", "/v1/secrets/{name}/rotate")] = ("rotateSecret", "secrets"),
        [("DELETE", "/v1/secrets/{name}")] = ("deleteSecret", "secrets"),
        [("POST", "/v1/templates")] = ("importTemplate", "templates"),
        [("POST", "/v1/templates/build")] = ("buildTemplate", "templates"),
        [("GET", "/v1/templates")] = ("listTemplates", "templates"),
        [("GET", "/v1/templates/{name}")] = ("getTemplate", "templates"),
        [("DELETE", "/v1/templates/{name}")] = ("deleteTemplate", "templates"),
        [("POST", "/v1/templates/prune")] = ("pruneTemplates", "templates"),

        [("GET", Sandbox + "/artifacts")] = ("listArtifacts", "artifacts"),
        [("POST", Sandbox + "/artifacts")] = ("recordArtifact", "artifacts"),
        [("GET", "/v1/artifacts/sets/{set}")] = ("getArtifactSet", "artifacts"),
        [("GET", "/v1/artifacts/sets/{set}/content")] = ("readArtifact", "artifacts"),
        [("DELETE", "/v1/artifacts/sets/{set}")] = ("deleteArtifactSet", "artifacts"),
        [("POST", "/v1/artifacts/prune")] = ("pruneArtifacts", "artifacts"),
        [("GET", "/v1/artifact-links/{token}")] = ("openArtifactLink", "artifacts"),

        [("POST", "/v1/bundles")] = ("pushBundle", "bundles"),
        [("GET", "/v1/bundles")] = ("listBundles", "bundles"),
        [("GET", "/v1/bundles/{name}")] = ("getBundle", "bundles"),
        [("DELETE", "/v1/bundles/{name}")] = ("deleteBundle", "bundles"),
        [("PUT", "/v1/sandboxes/{id}/bundles/{name}")] = ("setSandboxBundle", "bundles"),
        [("DELETE", "/v1/sandboxes/{id}/bundles/{name}")] = ("removeSandboxBundle", "bundles"),
    };

    private static readonly (string Name, string Description)[] Tags =
    [
        ("daemon", "The daemon itself."),
        ("sandboxes", "Create, list, inspect, extend and delete sandboxes (docs/sandboxes.md)."),
        ("exec", "One-shot commands, collected or streamed as NDJSON (docs/exec.md)."),
        ("files", "The workspace as an API: read, write, upload, download, list, move, delete, tar import and export, patches (docs/files.md)."),
        ("checkpoints", "Cheap snapshots of the workspace, diffs against them and resets (docs/checkpoints.md)."),
        ("processes", "Background processes with logs on disk, stdin, signals and waits (docs/processes.md)."),
        ("sessions", "A shell fed one command at a time, keeping its cwd and variables (docs/sessions.md)."),
        ("services", "Long-running servers with readiness probes and restart policies (docs/services.md)."),
        ("shells", "Interactive shells on a pseudo-terminal, over HTTP or a WebSocket (docs/shells.md)."),
        ("network", "What a sandbox's connections met under its network policy (docs/network.md); the policy is set at create and by PATCH."),
        ("secrets", "The write-only secret store: values encrypted at rest, never returned (docs/secrets.md)."),
        ("templates", "Templates: immutable, content-addressed roots a sandbox is made from, writable per sandbox (docs/templates.md)."),
        ("artifacts", "The files sandboxes keep: sets by sandbox or session, signed manifests, links that open without the API key (docs/artifacts.md)."),
        ("bundles", "Bundles: named, immutable, versioned read-only directories sandboxes mount, switchable while they run (docs/bundles.md)."),
    ];

    public static void Apply(OpenApiDocument document)
    {
        document.Tags = new HashSet<OpenApiTag>(Tags.Select(t => new OpenApiTag { Name = t.Name, Description = t.Description }));
        foreach (var (path, item) in document.Paths)
        {
            foreach (var (method, operation) in item.Operations ?? [])
            {
                if (Operations.TryGetValue((method.Method, path), out var known))
                {
                    operation.OperationId = known.Id;
                    operation.Tags = new HashSet<OpenApiTagReference> { new(known.Tag, document) };
                    if (known.Id == "openArtifactLink")
                    {
                        operation.Security = [];   // the signed link is its own credential (DaemonHost lets it pass the key check)
                    }
                }
            }
        }
    }
}
