using System.Text.Json.Serialization;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Services;

/// <summary>What a service runs, validated and with every default filled in; its secrets as references (names), never values.</summary>
internal sealed record ServiceSpec(
    string Name,
    string[] Argv,
    string? Cwd,
    Dictionary<string, string>? Env,
    ProbeSpec? Probe,
    RestartPolicy Restart,
    long MaxLogBytes,
    SecretUse[]? Secrets = null);

/// <summary>
/// A service as persisted in the sandbox's host directory (root only, never mounted inside): its
/// spec, its status, and whether a stop was asked for, so a daemon that restarts carries on
/// supervising it where the last one left off.
/// </summary>
internal sealed record ServiceRecord(ServiceSpec Spec, ServiceInfo Status, bool StopRequested = false, long StopGraceMs = 5000)
{
    public bool IsActive => Status.State is ServiceStates.Starting or ServiceStates.Ready;
}

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ServiceRecord))]
internal sealed partial class ServiceJsonContext : JsonSerializerContext;
