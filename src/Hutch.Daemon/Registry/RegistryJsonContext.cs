using System.Text.Json.Serialization;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Registry;

/// <summary>JSON columns of the registry (env, limits).</summary>
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(SandboxLimits))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;
