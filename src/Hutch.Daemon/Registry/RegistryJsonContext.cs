using System.Text.Json.Serialization;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Registry;

/// <summary>JSON columns of the registry (env, limits, network).</summary>
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(SandboxLimits))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(NetworkPolicy))]
[JsonSerializable(typeof(Hutch.Daemon.Templates.TemplateManifest))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;
