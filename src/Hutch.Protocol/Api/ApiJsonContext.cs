using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hutch.Protocol.Api;

/// <summary>
/// Source-generated JSON for the HTTP API, shared by daemon and SDK. Unknown members are refused
/// (a typo in a field name is an error, not a silently ignored option) and nulls are left out.
/// Numbers are numbers: the web defaults would read "5" as 5, and a caller who quoted a number by
/// mistake must hear so, like for any other type error.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    NumberHandling = JsonNumberHandling.Strict,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateSandboxRequest))]
[JsonSerializable(typeof(UpdateSandboxRequest))]
[JsonSerializable(typeof(SandboxInfo))]
[JsonSerializable(typeof(SandboxList))]
[JsonSerializable(typeof(SandboxEventList))]
[JsonSerializable(typeof(ExecRequest))]
[JsonSerializable(typeof(ExecResult))]
[JsonSerializable(typeof(ExecKilled))]
[JsonSerializable(typeof(ExecFullOutput))]
[JsonSerializable(typeof(ExecEvent))]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(Health))]
[JsonSerializable(typeof(FileEntry))]
[JsonSerializable(typeof(FileList))]
[JsonSerializable(typeof(FileContent))]
[JsonSerializable(typeof(WriteFileRequest))]
[JsonSerializable(typeof(FileWritten))]
[JsonSerializable(typeof(MakeDirectoryRequest))]
[JsonSerializable(typeof(MoveRequest))]
[JsonSerializable(typeof(ImportResult))]
[JsonSerializable(typeof(ExportRequest))]
[JsonSerializable(typeof(PatchRequest))]
[JsonSerializable(typeof(PatchResult))]
[JsonSerializable(typeof(CreateCheckpointRequest))]
[JsonSerializable(typeof(CheckpointInfo))]
[JsonSerializable(typeof(CheckpointList))]
[JsonSerializable(typeof(WorkspaceDiff))]
[JsonSerializable(typeof(ResetRequest))]
[JsonSerializable(typeof(StartProcessRequest))]
[JsonSerializable(typeof(ProcessInfo))]
[JsonSerializable(typeof(ProcessList))]
[JsonSerializable(typeof(SignalRequest))]
[JsonSerializable(typeof(KillRequest))]
[JsonSerializable(typeof(ProcessLogs))]
[JsonSerializable(typeof(LogEvent))]
[JsonSerializable(typeof(NetworkPolicy))]
[JsonSerializable(typeof(NetworkEvent))]
[JsonSerializable(typeof(NetworkPresetInfo[]))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(CreateSecretRequest))]
[JsonSerializable(typeof(RotateSecretRequest))]
[JsonSerializable(typeof(SecretInfo))]
[JsonSerializable(typeof(TemplateInfo))]
[JsonSerializable(typeof(TemplateList))]
[JsonSerializable(typeof(TemplatePruneResult))]
[JsonSerializable(typeof(TemplateBuildEvent))]
[JsonSerializable(typeof(SecretList))]
[JsonSerializable(typeof(IReadOnlyList<NetworkEvent>))]
[JsonSerializable(typeof(CreateSessionRequest))]
[JsonSerializable(typeof(SessionInfo))]
[JsonSerializable(typeof(SessionList))]
[JsonSerializable(typeof(SessionExecRequest))]
[JsonSerializable(typeof(CreateServiceRequest))]
[JsonSerializable(typeof(ServiceInfo))]
[JsonSerializable(typeof(ServiceList))]
[JsonSerializable(typeof(StopServiceRequest))]
[JsonSerializable(typeof(ServiceLogs))]
[JsonSerializable(typeof(OpenShellRequest))]
[JsonSerializable(typeof(ShellList))]
[JsonSerializable(typeof(ResizeShellRequest))]
[JsonSerializable(typeof(ShellOutput))]
[JsonSerializable(typeof(ShellMessage))]
public sealed partial class ApiJsonContext : JsonSerializerContext;
