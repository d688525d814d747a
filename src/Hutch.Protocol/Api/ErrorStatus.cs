namespace Hutch.Protocol.Api;

/// <summary>
/// The one table from an error code to its HTTP status, used by the daemon's edge to answer and by
/// the SDK for errors that arrive inside a stream (where no status line says it).
/// </summary>
public static class ErrorStatus
{
    public static int Of(string? code) => code switch
    {
        ErrorCodes.Unauthorized => 401,
        ErrorCodes.PermissionDenied => 403,
        ErrorCodes.SandboxNotFound or ErrorCodes.RouteNotFound or ErrorCodes.PathNotFound or ErrorCodes.CheckpointNotFound
            or ErrorCodes.ProcessNotFound or ErrorCodes.SessionNotFound or ErrorCodes.ServiceNotFound or ErrorCodes.ShellNotFound
            or ErrorCodes.OutputNotFound or ErrorCodes.SecretNotFound or ErrorCodes.TemplateNotFound or ErrorCodes.ArtifactNotFound
            or ErrorCodes.BundleNotFound => 404,
        ErrorCodes.MethodNotAllowed => 405,
        ErrorCodes.SandboxExpired or ErrorCodes.LinkExpired => 410,
        ErrorCodes.NameTaken or ErrorCodes.CwdNotFound or ErrorCodes.SandboxNotRunning or ErrorCodes.SandboxDied or ErrorCodes.SpawnFailed
            or ErrorCodes.TooManySandboxes or ErrorCodes.PathExists or ErrorCodes.DirectoryNotEmpty or ErrorCodes.PatchFailed
            or ErrorCodes.CheckpointExists or ErrorCodes.TooManyCheckpoints or ErrorCodes.CheckpointWithoutRoot or ErrorCodes.WorkspaceBusy or ErrorCodes.ProcessNotRunning
            or ErrorCodes.ProcessRunning or ErrorCodes.TooManyProcesses or ErrorCodes.NoStdin or ErrorCodes.SessionEnded
            or ErrorCodes.ServiceRunning or ErrorCodes.DataDirInUse or ErrorCodes.AddressInUse or ErrorCodes.SecretExists
            or ErrorCodes.SecretInUse or ErrorCodes.SecretFileFailed or ErrorCodes.TemplateExists or ErrorCodes.TemplateInUse
            or ErrorCodes.ArtifactRootChanged or ErrorCodes.ArtifactManifestInvalid or ErrorCodes.SessionLive or ErrorCodes.BundleInUse => 409,
        ErrorCodes.FileTooLarge or ErrorCodes.ArchiveTooLarge or ErrorCodes.RequestTooLarge or ErrorCodes.LayerTooLarge or ErrorCodes.ImageTooLarge
            or ErrorCodes.ArtifactTooLarge or ErrorCodes.BundleTooLarge => 413,
        ErrorCodes.UnsupportedMediaType => 415,
        ErrorCodes.BuildStepFailed or ErrorCodes.TemplateStartFailed => 422,
        ErrorCodes.RateLimited => 429,
        ErrorCodes.Internal or ErrorCodes.RuntimeFailed or null => 500,
        ErrorCodes.PortUnreachable => 502,
        ErrorCodes.RuntimeUnavailable or ErrorCodes.LimitUnavailable or ErrorCodes.SandboxDeleteIncomplete or ErrorCodes.EgressUnavailable
            or ErrorCodes.SecretsUnavailable or ErrorCodes.ArtifactStoreUnavailable => 503,
        ErrorCodes.PortTimeout => 504,
        ErrorCodes.DiskFull => 507,
        ErrorCodes.InvalidLimit or ErrorCodes.InvalidNetworkPolicy or ErrorCodes.InvalidSecret or ErrorCodes.InvalidBundle => 400,
        _ => 400, // every other code names something wrong in the request
    };

    /// <summary>Codes whose request may succeed later unchanged: retry after a pause (or Retry-After).</summary>
    public static bool IsTransient(string? code) =>
        code is ErrorCodes.RateLimited or ErrorCodes.WorkspaceBusy or ErrorCodes.RuntimeUnavailable or ErrorCodes.PortUnreachable or ErrorCodes.PortTimeout
            or ErrorCodes.SandboxDeleteIncomplete;
}
