using Microsoft.Extensions.Logging;

namespace Hutch.Daemon;

/// <summary>The engine's log lines; every one names the sandbox.</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "sandbox {SandboxId} created (name '{Name}') in {Ms:F1} ms")]
    public static partial void Created(ILogger logger, string sandboxId, string name, double ms);

    [LoggerMessage(2, LogLevel.Information, "sandbox {SandboxId} deleted (workspace kept: {Kept})")]
    public static partial void Deleted(ILogger logger, string sandboxId, bool kept);

    [LoggerMessage(3, LogLevel.Information, "sandbox {SandboxId} adopted after restart")]
    public static partial void Adopted(ILogger logger, string sandboxId);

    [LoggerMessage(4, LogLevel.Warning, "sandbox {SandboxId} lost: its agent is gone")]
    public static partial void Lost(ILogger logger, string sandboxId);

    [LoggerMessage(5, LogLevel.Information, "sandbox {SandboxId} expired (TTL) and was deleted")]
    public static partial void Expired(ILogger logger, string sandboxId);

    [LoggerMessage(6, LogLevel.Error, "sandbox {SandboxId}: deleting it at expiry failed")]
    public static partial void ExpiryFailed(ILogger logger, string sandboxId, Exception exception);

    [LoggerMessage(7, LogLevel.Error, "sandbox {SandboxId}: cleaning up after a failed create failed; it is marked lost, delete it to retry")]
    public static partial void CleanupFailed(ILogger logger, string sandboxId, Exception exception);

    [LoggerMessage(8, LogLevel.Warning, "warm pool: starting sandbox {SandboxId} of {Root} (or making it ready) failed; it is deleted, and the pool refills at a create {BackoffSeconds} s from now or later")]
    public static partial void PoolFillFailed(ILogger logger, string sandboxId, string root, double backoffSeconds, Exception exception);

    [LoggerMessage(41, LogLevel.Warning, "warm pool: sandbox {SandboxId} of {Template} is no longer ready (its start command ended or failed on the shelf); it is deleted, not handed out")]
    public static partial void PoolSandboxUnready(ILogger logger, string sandboxId, string template);

    [LoggerMessage(9, LogLevel.Information, "sandbox {SandboxId}: forwarding to port {Port} failed ({Error}: {Reason})")]
    public static partial void PortForwardFailed(ILogger logger, string sandboxId, int port, string error, string reason);

    [LoggerMessage(10, LogLevel.Debug, "sandbox {SandboxId}: tcp tunnel to port {Port} ended by a failure ({Reason})")]
    public static partial void TunnelEnded(ILogger logger, string sandboxId, int port, string reason);

    [LoggerMessage(11, LogLevel.Information, "host: raised {Setting} to {Value} so that {MaxSandboxes} sandboxes each get their own share")]
    public static partial void HostLimitRaised(ILogger logger, string setting, long value, int maxSandboxes);

    [LoggerMessage(12, LogLevel.Warning, "host: the daemon could not set its oom_score_adj to {Value} (no CAP_SYS_RESOURCE); it stays at its sandboxes' floor, whose commands the OOM killer still takes first")]
    public static partial void OomProtectionUnavailable(ILogger logger, int value);

    [LoggerMessage(13, LogLevel.Warning, "sandbox {SandboxId}: the command '{Command}' (pid {Pid}) of an exec outlived the previous daemon; it carries on as background process {ProcessId}")]
    public static partial void CommandAdopted(ILogger logger, string sandboxId, string command, int pid, string processId);

    [LoggerMessage(14, LogLevel.Error, "sandbox {SandboxId}: the delete could not remove everything; it is left 'deleting' and retried")]
    public static partial void DeleteIncomplete(ILogger logger, string sandboxId, Exception exception);

    [LoggerMessage(15, LogLevel.Information, "sandbox {SandboxId}: a retried delete removed what was left")]
    public static partial void DeleteRetried(ILogger logger, string sandboxId);

    [LoggerMessage(16, LogLevel.Information, "stop: the workspaces' volume stays mounted at {Directory}: {Reason}")]
    public static partial void VolumeKept(ILogger logger, string directory, string reason);

    [LoggerMessage(17, LogLevel.Warning, "sandbox {SandboxId}: the egress proxy could not accept a connection")]
    public static partial void EgressAcceptFailed(ILogger logger, string sandboxId, Exception exception);

    [LoggerMessage(18, LogLevel.Error, "sandbox {SandboxId}: an egress connection failed unexpectedly")]
    public static partial void EgressConnectionFailed(ILogger logger, string sandboxId, Exception exception);

    [LoggerMessage(19, LogLevel.Error, "sandbox {SandboxId}: its egress could not be set up again after the daemon restarted; nothing leaves it until its policy is set again")]
    public static partial void EgressRestoreFailed(ILogger logger, string sandboxId, Exception exception);

    [LoggerMessage(20, LogLevel.Warning, "sandbox {SandboxId}: its DNS listener failed on a query")]
    public static partial void EgressDnsFailed(ILogger logger, string sandboxId, Exception exception);

    [LoggerMessage(21, LogLevel.Warning, "egress: {File}: {Problem}; that line is skipped")]
    public static partial void EgressHostsFileProblem(ILogger logger, string file, string problem);

    [LoggerMessage(22, LogLevel.Information, "egress: preset {Preset} is {Entries} ({Notes})")]
    public static partial void EgressPresetExpanded(ILogger logger, string preset, string entries, string notes);

    [LoggerMessage(23, LogLevel.Warning, "sandbox {SandboxId}: the file of secret {Secret} keeps its old value after a rotation: {Reason}")]
    public static partial void SecretFileNotRotated(ILogger logger, string sandboxId, string secret, string reason);

    [LoggerMessage(40, LogLevel.Error, "template build {Template}: failed unexpectedly")]
    public static partial void BuildFailed(ILogger logger, string template, Exception exception);

    [LoggerMessage(54, LogLevel.Warning, "artifacts: {What} of set {Set} is pending (the store did not take it): {Reason}")]
    public static partial void ArtifactPending(ILogger logger, string what, string set, string reason);

    [LoggerMessage(46, LogLevel.Information, "artifacts: {Path} of set {Set} was not kept: {Reason}")]
    public static partial void ArtifactSkipped(ILogger logger, string path, string set, string reason);

    [LoggerMessage(53, LogLevel.Warning, "artifacts: {Path} of set {Set} is no longer pending, and was not kept: {Reason}")]
    public static partial void ArtifactDropped(ILogger logger, string path, string set, string reason);

    [LoggerMessage(50, LogLevel.Information, "artifacts: prune deleted {Blobs} stored contents no set names ({Bytes} bytes)")]
    public static partial void ArtifactsPruned(ILogger logger, int blobs, long bytes);

    [LoggerMessage(55, LogLevel.Warning, "artifacts: {Path} of set {Set} could not be spooled either (it is read from the workspace again): {Reason}")]
    public static partial void ArtifactNotSpooled(ILogger logger, string path, string set, string reason);

    [LoggerMessage(47, LogLevel.Information, "artifacts: {Count} pending file(s) of set {Set} stored")]
    public static partial void ArtifactsRetried(ILogger logger, int count, string set);

    [LoggerMessage(48, LogLevel.Warning, "artifacts: the manifest of set {Set} did not match the daemon's record (a write was cut off) and was written again")]
    public static partial void ArtifactManifestRewritten(ILogger logger, string set);

    [LoggerMessage(49, LogLevel.Error, "artifacts: set {Set} was not checked ({Code}): {Reason}")]
    public static partial void ArtifactSetRefused(ILogger logger, string set, string code, string reason);

    [LoggerMessage(52, LogLevel.Error, "artifacts: a retry of pending files failed unexpectedly")]
    public static partial void ArtifactRetryFailed(ILogger logger, Exception exception);

    [LoggerMessage(51, LogLevel.Warning, "artifacts: the store did not answer within {Seconds} s at start; the sets not checked yet are checked by the retry")]
    public static partial void ArtifactRecoveryDeferred(ILogger logger, double seconds);

    [LoggerMessage(44, LogLevel.Information, "bundle {Bundle}@{Version} pushed: {Files} files, {Bytes} bytes, {NewFiles} of them new to the store")]
    public static partial void BundlePushed(ILogger logger, string bundle, long version, long files, long bytes, long newFiles);

    [LoggerMessage(45, LogLevel.Information, "sandbox {SandboxId}: bundle {Bundle} switched from version {From} to {To}")]
    public static partial void BundleSwitched(ILogger logger, string sandboxId, string bundle, long from, long to);
}
