using System.Text.Json;
using System.Text.Json.Serialization;
using Hutch.Linux;
using Hutch.Protocol.Api;

namespace Hutch.Files.Checkpoints;

/// <summary>
/// One captured entry: what the workspace entry was when the checkpoint was taken (the copy in the
/// checkpoint's tree has the same content, owner and mtime). Inode and ctime are the workspace
/// file's, kept so a later diff can skip reading files that cannot have changed: ctime moves on
/// every write, chmod, chown, rename and utimensat, and no user call can set it back.
/// </summary>
/// <param name="Path">Relative to /workspace; "" is the workspace root.</param>
/// <param name="Mode">Permission bits as the workspace had them (the tree's copy never keeps setuid/setgid).</param>
/// <param name="Size">Bytes of the captured copy.</param>
/// <param name="Target">A symlink's target as stored.</param>
internal sealed record ManifestEntry(
    string Path, EntryKind Kind, int Mode, uint Uid, uint Gid, long Size, long MtimeNs, ulong Inode, long CtimeNs, string? Target = null);

/// <param name="MarkerCtimeNs">
/// The store file system's clock when capture began (ctime of a fresh directory). A file whose
/// recorded ctime is not safely older than this may have changed again within the same clock tick
/// without its ctime moving, so a diff compares its content (git's "racy clean" problem).
/// </param>
internal sealed record Manifest(int Version, string Name, DateTimeOffset CreatedAt, long MarkerCtimeNs, List<ManifestEntry> Entries)
{
    public const int CurrentVersion = 1;

    /// <summary>The baseline when none was set: an empty workspace.</summary>
    public static Manifest Empty { get; } = new(CurrentVersion, CheckpointName.Baseline, DateTimeOffset.UnixEpoch, 0, []);

    public CheckpointInfo Info() => new(Name, CreatedAt, Entries.Count(e => e.Path.Length > 0),
        Entries.Where(e => e.Kind == EntryKind.File).Sum(e => e.Size));
}

/// <summary>Source-generated JSON for the store's own files (AOT-safe, no reflection).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(Manifest))]
[JsonSerializable(typeof(CheckpointInfo))]
internal sealed partial class CheckpointJsonContext : JsonSerializerContext;
