using Hutch.Protocol.Api;

namespace Hutch.Daemon.Http.OpenApi;

/// <summary>
/// The string fields that take one of a fixed set of values, as enums in the document. They stay
/// strings in C# (a client must survive a value added later), with the sets as constants in
/// Hutch.Protocol, which this table uses. Signals are left out: "INT" and "sigint" are taken too.
/// </summary>
internal static class ApiEnums
{
    private static readonly string[] Encodings = ["utf8", "base64"];
    private static readonly string[] Users = ["user", "root"];

    private static readonly Dictionary<(Type Type, string Property), string[]> Values = new()
    {
        [(typeof(CreateSandboxRequest), "user")] = Users,
        [(typeof(SandboxInfo), "user")] = Users,
        // "pooled" is a warm sandbox no create has claimed yet: the API never shows one.
        [(typeof(SandboxInfo), "state")] = [SandboxStates.Running, SandboxStates.Lost, SandboxStates.Deleting, SandboxStates.Deleted],
        [(typeof(SandboxEvent), "type")] = [SandboxEventTypes.Adopted, SandboxEventTypes.Lost, SandboxEventTypes.CommandAdopted],
        [(typeof(ExecRequest), "encoding")] = Encodings,
        [(typeof(ExecResult), "encoding")] = Encodings,
        [(typeof(SessionExecRequest), "encoding")] = Encodings,
        [(typeof(FileContent), "encoding")] = Encodings,
        [(typeof(WriteFileRequest), "encoding")] = Encodings,
        [(typeof(ProcessLogs), "encoding")] = Encodings,
        [(typeof(ShellOutput), "encoding")] = Encodings,
        [(typeof(FileEntry), "type")] = [FileTypes.File, FileTypes.Directory, FileTypes.Symlink, FileTypes.Other],
        [(typeof(PatchedFile), "change")] = ["modified", "added", "deleted", "renamed"],
        [(typeof(ProcessInfo), "state")] = [ProcessStates.Starting, ProcessStates.Running, ProcessStates.Exited, ProcessStates.Killed, ProcessStates.Failed],
        [(typeof(ProcessInfo), "origin")] = ["exec"],
        [(typeof(SessionInfo), "state")] = [SessionStates.Running, SessionStates.Ended],
        [(typeof(ServiceInfo), "state")] = [ServiceStates.Starting, ServiceStates.Ready, ServiceStates.Failed, ServiceStates.Exited, ServiceStates.Stopped],
        [(typeof(ServiceInfo), "stopReason")] = [StopReasons.ExitedBeforeReady, StopReasons.ReadinessTimeout, StopReasons.Exited, StopReasons.StoppedBySigterm, StopReasons.KilledBySigkill],
        [(typeof(ProbeSpec), "type")] = [ProbeTypes.File, ProbeTypes.Tcp, ProbeTypes.Http, ProbeTypes.Command],
        [(typeof(RestartPolicy), "policy")] = ["never", "on-failure"],
        [(typeof(NetworkPolicy), "mode")] = [NetworkModes.None, NetworkModes.Allowlist, NetworkModes.Public],
        [(typeof(NetworkPolicy), "preset")] = [NetworkPresets.PackageRegistries],
        [(typeof(NetworkEvent), "outcome")] = [NetworkOutcomes.Allowed, NetworkOutcomes.Refused, NetworkOutcomes.Failed],
        [(typeof(NetworkEvent), "via")] = ["transparent", "proxy", "dns"],
        [(typeof(NetworkPresetSource), "tool")] = ["apt", "pip", "npm"],
        [(typeof(NetworkEvent), "protocol")] = ["tcp", "dns"],
    };

    /// <summary>The values of a property (by its JSON name) of an API type, or null when it takes any string.</summary>
    public static string[]? Of(Type type, string property) => Values.GetValueOrDefault((type, property));
}
