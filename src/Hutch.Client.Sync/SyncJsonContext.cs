using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hutch.Client.Sync;

/// <summary>
/// Source-generated JSON for the sync state file (no reflection, so NativeAOT callers can sync).
/// Indented and with enum names, because people open this file to see what sync believes.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web,
    WriteIndented = true,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SyncState))]
internal sealed partial class SyncJsonContext : JsonSerializerContext;
