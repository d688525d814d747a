using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hutch.Protocol.Agent;

/// <summary>Source-generated JSON for the control channel (the agent is NativeAOT: no reflection).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ExecStart))]
[JsonSerializable(typeof(ProcessStart))]
[JsonSerializable(typeof(ExecStarted))]
[JsonSerializable(typeof(ExecExited))]
[JsonSerializable(typeof(ExecKill))]
[JsonSerializable(typeof(AgentError))]
[JsonSerializable(typeof(AgentHello))]
[JsonSerializable(typeof(ProcessInput))]
[JsonSerializable(typeof(ProcessSignal))]
[JsonSerializable(typeof(ProcessResize))]
[JsonSerializable(typeof(SecretFile))]
[JsonSerializable(typeof(TerminalRecord))]
[JsonSerializable(typeof(ProcessStartRecord))]
[JsonSerializable(typeof(ProcessExitRecord))]
public sealed partial class AgentJsonContext : JsonSerializerContext;
