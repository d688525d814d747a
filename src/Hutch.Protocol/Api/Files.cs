namespace Hutch.Protocol.Api;

/// <summary>Entry types of the files API.</summary>
public static class FileTypes
{
    public const string File = "file";
    public const string Directory = "directory";
    public const string Symlink = "symlink";
    /// <summary>A FIFO, socket or device node: listed, never read or written.</summary>
    public const string Other = "other";
}

/// <summary>One entry of the workspace.</summary>
/// <param name="Path">Relative to /workspace, '/'-separated ("src/a.py"; "" is the workspace itself).</param>
/// <param name="Mode">Permission bits in octal, like "0644".</param>
/// <param name="Target">A symlink's target as stored (never resolved).</param>
/// <param name="Sha256">Hex sha256 of a regular file's content, when a listing was asked for hashes.</param>
public sealed record FileEntry(string Path, string Type, long Size, string Mode, DateTimeOffset Mtime, string? Target = null, string? Sha256 = null);

/// <param name="Truncated">True when there were more entries than the listing's limit.</param>
public sealed record FileList(string Path, List<FileEntry> Entries, bool Truncated = false);

/// <summary>A file read through the JSON API.</summary>
/// <param name="Size">The whole file's size.</param>
/// <param name="Offset">Where the returned bytes start.</param>
/// <param name="Length">How many bytes were returned.</param>
/// <param name="Sha256">Hex sha256 of the returned bytes (of the whole file when it was read whole).</param>
/// <param name="Encoding">"utf8" or "base64": how <paramref name="Content"/> holds the bytes.</param>
public sealed record FileContent(string Path, long Size, long Offset, long Length, string Sha256, string Encoding, string Content);

/// <summary>Writes a whole file atomically (temp file + rename).</summary>
/// <param name="Encoding">"utf8" (default) or "base64".</param>
/// <param name="Mode">Octal permission bits ("0755"); default: the replaced file's, else 0644.</param>
/// <param name="CreateParents">Create missing parent directories (default true).</param>
/// <param name="Overwrite">Replace an existing file (default true).</param>
public sealed record WriteFileRequest(string Path = "", string Content = "", string? Encoding = null, string? Mode = null,
    bool? CreateParents = null, bool? Overwrite = null);

/// <summary>What a write or upload left in place.</summary>
/// <param name="Sha256">Hex sha256 of the content: always for JSON writes, for uploads when asked (hash=true).</param>
public sealed record FileWritten(string Path, long Size, string? Sha256, string Mode);

public sealed record MakeDirectoryRequest(string Path = "", bool? Parents = null);

/// <param name="Overwrite">Replace an existing file at <paramref name="To"/> (default false).</param>
public sealed record MoveRequest(string From = "", string To = "", bool? Overwrite = null, bool? CreateParents = null);

/// <summary>What an archive import wrote.</summary>
public sealed record ImportResult(string Path, int Entries, long Bytes);

/// <summary>Exports a path as a tar; <paramref name="Include"/> picks entries under it (relative to it) instead of everything.</summary>
public sealed record ExportRequest(string Path = "", List<string>? Include = null, long? MaxBytes = null);

/// <param name="Patch">A unified diff (`git diff` or `diff -u`), paths relative to /workspace.</param>
public sealed record PatchRequest(string Patch = "");

/// <param name="Change">"modified", "added", "deleted" or "renamed" (then <paramref name="From"/> is set).</param>
public sealed record PatchedFile(string Path, string Change, string? From = null);

public sealed record PatchResult(List<PatchedFile> Files);

public sealed record CreateCheckpointRequest(string Name = "");

/// <param name="Files">Entries (files, directories, symlinks) in the checkpoint.</param>
/// <param name="Bytes">Bytes of file content it refers to (shared with the workspace where reflinks are possible).</param>
public sealed record CheckpointInfo(string Name, DateTimeOffset CreatedAt, int Files, long Bytes);

public sealed record CheckpointList(List<CheckpointInfo> Checkpoints);

/// <summary>Paths changed since a checkpoint (or the baseline), each relative to /workspace.</summary>
public sealed record WorkspaceDiff(string Since, List<string> Added, List<string> Modified, List<string> Deleted);

/// <param name="To">A checkpoint's name; the baseline when absent.</param>
public sealed record ResetRequest(string? To = null);
