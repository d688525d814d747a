namespace Hutch.Protocol.Api;

/// <summary>RFC 9457 problem details as Hutch sends them: always with a stable <c>code</c>.</summary>
/// <param name="Type">A URI naming the kind of problem (RFC 9457); the code says the same, for branching.</param>
/// <param name="Title">A short summary of the kind of problem, the same for every occurrence.</param>
/// <param name="Status">The HTTP status of the answer.</param>
/// <param name="Detail">What went wrong this time and what to do, for a person (never branch on it).</param>
/// <param name="Code">The stable error code (snake_case, docs/http-api.md lists them): what a client branches on.</param>
public sealed record Problem(string Type, string Title, int Status, string Detail, string Code);

/// <summary>Liveness answer of <c>GET /v1/health</c>.</summary>
/// <param name="Status">"ok" while the daemon serves.</param>
/// <param name="Version">The daemon's version.</param>
/// <param name="Runtime">The OCI runtime binary it runs sandboxes with (runc by default).</param>
/// <param name="Sandboxes">How many sandboxes it holds.</param>
/// <param name="WarmPool">Sandboxes started ahead of demand and ready to be claimed by a create.</param>
public sealed record Health(string Status, string Version, string Runtime, int Sandboxes, int WarmPool = 0);

/// <summary>The stable error codes of the API. A client branches on these, never on messages.</summary>
public static class ErrorCodes
{
    public const string InvalidRequest = "invalid_request";
    /// <summary>400: a query parameter's value is not of its type (the detail names the parameter and the type).</summary>
    public const string InvalidQuery = "invalid_query";
    /// <summary>404: no route has this path; /openapi/v1.json lists them.</summary>
    public const string RouteNotFound = "route_not_found";
    /// <summary>405: the path exists but not with this method; the Allow header lists the methods it takes.</summary>
    public const string MethodNotAllowed = "method_not_allowed";
    /// <summary>413: the request's body is larger than its route takes (an exec's 128 MiB; 30,000,000 bytes for other JSON bodies).</summary>
    public const string RequestTooLarge = "request_too_large";
    /// <summary>415: the body's Content-Type is not one the route takes (JSON routes take application/json).</summary>
    public const string UnsupportedMediaType = "unsupported_media_type";
    public const string Unauthorized = "unauthorized";
    public const string SandboxNotFound = "sandbox_not_found";
    /// <summary>410: the sandbox's TTL ended and it was deleted; the detail says when. Create a new one.</summary>
    public const string SandboxExpired = "sandbox_expired";
    /// <summary>400: ttlSeconds is 0 or out of range (1-2592000); leave it out for no TTL.</summary>
    public const string InvalidTtl = "invalid_ttl";
    /// <summary>400: a label's key or value (or their number) is not allowed, or a label filter is malformed.</summary>
    public const string InvalidLabel = "invalid_label";
    public const string NameTaken = "name_taken";
    public const string InvalidName = "invalid_name";
    public const string CwdOutsideWorkspace = "cwd_outside_workspace";
    public const string CwdNotFound = "cwd_not_found";
    public const string InvalidTimeout = "invalid_timeout";
    public const string InvalidStdin = "invalid_stdin";
    /// <summary>400: an exec's stdin is over <see cref="ExecLimits.MaxStdinBytes"/>; put the input in a file with the files API and redirect it.</summary>
    public const string StdinTooLarge = "stdin_too_large";
    public const string InvalidEncoding = "invalid_encoding";
    public const string LimitOutOfRange = "limit_out_of_range";
    /// <summary>400: a list's <c>limit</c> query parameter is not from 1 to its maximum.</summary>
    public const string InvalidLimit = "invalid_limit";
    /// <summary>A second daemon on a data dir another daemon holds: it refuses to start (never over HTTP).</summary>
    public const string DataDirInUse = "data_dir_in_use";
    /// <summary>`hutch serve` on an address another program listens on (never over HTTP).</summary>
    public const string AddressInUse = "address_in_use";
    /// <summary>A limit was asked for that this host cannot enforce (no disk quotas, no I/O weight); `hutch doctor` says why.</summary>
    public const string LimitUnavailable = "limit_unavailable";
    public const string InvalidEnv = "invalid_env";
    public const string EmptyCommand = "empty_command";
    /// <summary>400: command holds what no program can receive (a NUL byte); the detail says where.</summary>
    public const string InvalidCommand = "invalid_command";
    /// <summary>400: an element of argv holds what no program can receive (a NUL byte); the detail names it (argv[i]).</summary>
    public const string InvalidArgv = "invalid_argv";
    /// <summary>400: cwd is no path at all (a NUL byte in it).</summary>
    public const string InvalidCwd = "invalid_cwd";
    /// <summary>An argument, an environment variable or a whole command is more than the kernel (or the agent link) takes; send it as stdin or a file.</summary>
    public const string CommandTooLong = "command_too_long";
    public const string InvalidUser = "invalid_user";
    public const string SandboxNotRunning = "sandbox_not_running";
    /// <summary>503: a delete could not remove everything yet; the sandbox is "deleting" and the daemon retries until it has (transient).</summary>
    public const string SandboxDeleteIncomplete = "sandbox_delete_incomplete";
    public const string SandboxDied = "sandbox_died";
    public const string SpawnFailed = "spawn_failed";
    public const string RuntimeUnavailable = "runtime_unavailable";
    public const string RuntimeFailed = "runtime_failed";
    public const string InvalidPort = "invalid_port";
    public const string PortUnreachable = "port_unreachable";
    /// <summary>504: the server on the port accepted the connection but did not answer in time.</summary>
    public const string PortTimeout = "port_timeout";
    public const string Internal = "internal_error";
    /// <summary>429: a rate or concurrency limit refused the request (the detail names it); retry after the Retry-After header's seconds.</summary>
    public const string RateLimited = "rate_limited";
    /// <summary>409: the API key holds as many sandboxes as it may; delete one first.</summary>
    public const string TooManySandboxes = "too_many_sandboxes";

    // Workspace files (docs/files.md).
    public const string PathOutsideWorkspace = "path_outside_workspace";
    public const string PathThroughSymlink = "path_through_symlink";
    public const string PathNotFound = "path_not_found";
    public const string PathExists = "path_exists";
    public const string NotAFile = "not_a_file";
    public const string NotADirectory = "not_a_directory";
    public const string IsADirectory = "is_a_directory";
    public const string DirectoryNotEmpty = "directory_not_empty";
    public const string NameTooLong = "name_too_long";
    public const string InvalidPath = "invalid_path";
    public const string InvalidMode = "invalid_mode";
    public const string FileTooLarge = "file_too_large";
    public const string DiskFull = "disk_full";
    public const string PermissionDenied = "permission_denied";
    public const string ArchiveRefused = "archive_refused";
    public const string ArchiveTooLarge = "archive_too_large";
    public const string ArchiveInvalid = "archive_invalid";
    public const string PatchInvalid = "patch_invalid";
    public const string PatchFailed = "patch_failed";
    public const string CheckpointNotFound = "checkpoint_not_found";
    public const string CheckpointExists = "checkpoint_exists";
    public const string InvalidCheckpointName = "invalid_checkpoint_name";
    public const string TooManyCheckpoints = "too_many_checkpoints";
    /// <summary>400: includeRoot on a sandbox whose root is the host's read-only one (only a template's root can change).</summary>
    public const string RootNotWritable = "root_not_writable";
    /// <summary>409: diff or reset with includeRoot against a checkpoint taken without it.</summary>
    public const string CheckpointWithoutRoot = "checkpoint_without_root";
    /// <summary>A path kept changing under a reset or checkpoint (a sandbox process is rewriting it); retry when it is quiet.</summary>
    public const string WorkspaceBusy = "workspace_busy";

    // Artifacts (docs/artifacts.md, docs/design/0013).
    /// <summary>400: an artifact glob is empty, absolute, leaves /workspace ('..') or holds a NUL.</summary>
    public const string InvalidArtifactGlob = "invalid_artifact_glob";
    /// <summary>400: a path recorded as an artifact is not a regular file inside /workspace (a symlink, a directory, missing).</summary>
    public const string ArtifactNotFile = "artifact_not_file";
    /// <summary>413: an artifact is larger than the daemon keeps.</summary>
    public const string ArtifactTooLarge = "artifact_too_large";
    /// <summary>404: no artifact (or set) of that name or path.</summary>
    public const string ArtifactNotFound = "artifact_not_found";
    /// <summary>409: a set's root directory is not the one the set was made in (swapped or replaced by a link): nothing was written or deleted.</summary>
    public const string ArtifactRootChanged = "artifact_root_changed";
    /// <summary>409: a set's manifest does not verify against the daemon's key (edited or damaged); it is not trusted.</summary>
    public const string ArtifactManifestInvalid = "artifact_manifest_invalid";
    /// <summary>503: the artifact store cannot be reached; artifacts are kept pending and retried.</summary>
    public const string ArtifactStoreUnavailable = "artifact_store_unavailable";
    /// <summary>409: a create with an artifact session that a running sandbox holds (or a delete of its set).</summary>
    public const string SessionLive = "session_live";
    /// <summary>410: a download link whose time is over.</summary>
    public const string LinkExpired = "link_expired";

    // Background processes (docs/processes.md).
    public const string ProcessNotFound = "process_not_found";
    public const string ProcessNotRunning = "process_not_running";
    public const string ProcessRunning = "process_running";
    public const string TooManyProcesses = "too_many_processes";
    public const string InvalidSignal = "invalid_signal";
    public const string InvalidCursor = "invalid_cursor";
    /// <summary>404: no kept output of the sandbox has this id (only truncated execs keep one; the last 8 per sandbox).</summary>
    public const string OutputNotFound = "output_not_found";
    public const string NoStdin = "no_stdin";
    public const string CommandNotFound = "command_not_found";

    // Sessions (docs/sessions.md).
    public const string SessionNotFound = "session_not_found";
    public const string SessionEnded = "session_ended";

    // Services (docs/services.md).
    public const string ServiceNotFound = "service_not_found";
    public const string ServiceRunning = "service_running";
    public const string InvalidProbe = "invalid_probe";
    public const string InvalidRestartPolicy = "invalid_restart_policy";

    // PTY shells (docs/shells.md).
    public const string ShellNotFound = "shell_not_found";
    public const string InvalidTerminalSize = "invalid_terminal_size";

    // Network egress (docs/design/0009-egress.md).
    /// <summary>400: a network policy is malformed; the message names the field (<c>network.allow[2]</c>) and what is wrong.</summary>
    public const string InvalidNetworkPolicy = "invalid_network_policy";
    /// <summary>503: the daemon could not set up a sandbox's egress capture (nftables, addresses or listeners); nothing leaves it. `hutch doctor` says why.</summary>
    public const string EgressUnavailable = "egress_unavailable";

    // Secrets (docs/secrets.md). Their messages never hold a value.
    /// <summary>400: a secret's name, value, description or hosts is malformed; the message names the field.</summary>
    public const string InvalidSecret = "invalid_secret";
    /// <summary>404: no secret has that name.</summary>
    public const string SecretNotFound = "secret_not_found";
    /// <summary>409: a secret of that name exists; rotate it to change its value.</summary>
    public const string SecretExists = "secret_exists";
    /// <summary>503: the daemon's secrets key is missing or is not the one the stored values were encrypted with.</summary>
    public const string SecretsUnavailable = "secrets_unavailable";
    /// <summary>400: a <c>secrets[i].name</c> names no stored secret; the message names the field.</summary>
    public const string UnknownSecret = "unknown_secret";
    /// <summary>400: two secret uses give one environment variable, or one clashes with the sandbox's, the command's or Hutch's own variables.</summary>
    public const string SecretEnvConflict = "secret_env_conflict";
    /// <summary>409: the secret is used by sandboxes (named in the message); delete with force to delete it anyway.</summary>
    public const string SecretInUse = "secret_in_use";
    /// <summary>409: the sandbox's agent could not write a file secret into /run/secrets (its tmpfs full, or a directory at the name).</summary>
    public const string SecretFileFailed = "secret_file_failed";
    /// <summary>404: no template of that name (or no such version of it).</summary>
    public const string TemplateNotFound = "template_not_found";
    /// <summary>409: that NAME:VERSION exists with other content; versions never change (choose another version).</summary>
    public const string TemplateExists = "template_exists";
    /// <summary>409: sandboxes (named in the message) have their root from it; delete them first.</summary>
    public const string TemplateInUse = "template_in_use";
    /// <summary>400: a template name or version that is not allowed (the message says which rule).</summary>
    public const string InvalidTemplate = "invalid_template";
    /// <summary>413: an image layer past its limit (uncompressed bytes or entries; docs/templates.md).</summary>
    public const string LayerTooLarge = "layer_too_large";
    /// <summary>413: an image archive past its limit (bytes, entries or layers; docs/templates.md).</summary>
    public const string ImageTooLarge = "image_too_large";
    /// <summary>400: a Dockerfile Hutch cannot build: a syntax error or an instruction it does not support (the message names the line and what to write instead).</summary>
    public const string DockerfileInvalid = "dockerfile_invalid";
    /// <summary>400: a build context that is not a tar, is past its limits, or lacks what the Dockerfile copies (the message names the line and the path).</summary>
    public const string BuildContextInvalid = "build_context_invalid";
    /// <summary>422: a build step (RUN) failed; the message names the step, its line and instruction, and ends with its output's tail. No template was made.</summary>
    public const string BuildStepFailed = "build_step_failed";
    /// <summary>422: a template's start command did not become ready (its readiness probe failed, or it exited): the message has its last output; the sandbox is not made.</summary>
    public const string TemplateStartFailed = "template_start_failed";
    // Bundles (docs/bundles.md).
    /// <summary>404: no bundle of that name (or no such version of it), or the sandbox has no bundle of that name mounted.</summary>
    public const string BundleNotFound = "bundle_not_found";
    /// <summary>409: sandboxes (named in the message) mount that bundle version; switch or delete them first.</summary>
    public const string BundleInUse = "bundle_in_use";
    /// <summary>400: a bundle name, version or mount path that is not allowed, or a tar refused by the same rules as an image layer's; the message names the field or the entry.</summary>
    public const string InvalidBundle = "invalid_bundle";
    /// <summary>413: a bundle's tar past its limit (bytes or entries; HUTCH_BUNDLE_MAX_BYTES, HUTCH_BUNDLE_MAX_ENTRIES).</summary>
    public const string BundleTooLarge = "bundle_too_large";
}
