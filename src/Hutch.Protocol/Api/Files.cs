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
/// <param name="Type">file, directory, symlink or other (a FIFO, socket or device node).</param>
/// <param name="Size">Bytes of a file's content (a symlink's: of its target's path; a directory's: as the filesystem says).</param>
/// <param name="Mode">Permission bits in octal, like "0644".</param>
/// <param name="Mtime">When its content last changed.</param>
/// <param name="Target">A symlink's target as stored (never resolved).</param>
/// <param name="Sha256">Hex sha256 of a regular file's content, when a listing was asked for hashes.</param>
public sealed record FileEntry(string Path, string Type, long Size, string Mode, DateTimeOffset Mtime, string? Target = null, string? Sha256 = null);

/// <summary>Answer of <c>GET …/files/list</c>.</summary>
/// <param name="Path">The listed directory, relative to /workspace.</param>
/// <param name="Entries">Its entries (and, recursive, theirs), paths relative to /workspace.</param>
/// <param name="Truncated">True when there were more entries than the listing's limit.</param>
public sealed record FileList(string Path, List<FileEntry> Entries, bool Truncated = false);

/// <summary>A file read through the JSON API.</summary>
/// <param name="Path">The file, relative to /workspace.</param>
/// <param name="Size">The whole file's size.</param>
/// <param name="Offset">Where the returned bytes start.</param>
/// <param name="Length">How many bytes were returned.</param>
/// <param name="Sha256">Hex sha256 of the returned bytes (of the whole file when it was read whole).</param>
/// <param name="Encoding">"utf8" or "base64": how <paramref name="Content"/> holds the bytes.</param>
/// <param name="Content">The bytes read, as text or base64.</param>
/// <param name="Redacted">How many pieces of the sandbox's secrets were replaced by <c>[REDACTED:NAME]</c> in Content (docs/secrets.md); left out when none. Sha256 is then of what Content holds.</param>
public sealed record FileContent(string Path, long Size, long Offset, long Length, string Sha256, string Encoding, string Content,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] int? Redacted = null);

/// <summary>Writes a whole file atomically (temp file + rename).</summary>
/// <param name="Path">The file, relative to /workspace.</param>
/// <param name="Content">The whole new content, as text or base64 (Encoding).</param>
/// <param name="Encoding">"utf8" (default) or "base64".</param>
/// <param name="Mode">Octal permission bits ("0755"); default: the replaced file's, else 0644.</param>
/// <param name="CreateParents">Create missing parent directories (default true).</param>
/// <param name="Overwrite">Replace an existing file (default true).</param>
public sealed record WriteFileRequest(string Path = "", string Content = "", string? Encoding = null, string? Mode = null,
    bool? CreateParents = null, bool? Overwrite = null);

/// <summary>What a write or upload left in place.</summary>
/// <param name="Path">The file written, relative to /workspace.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Sha256">Hex sha256 of the content: always for JSON writes, for uploads when asked (hash=true).</param>
/// <param name="Mode">Its permission bits in octal ("0644").</param>
public sealed record FileWritten(string Path, long Size, string? Sha256, string Mode);

/// <summary>Body of <c>POST …/files/mkdir</c>.</summary>
/// <param name="Path">The directory to make, relative to /workspace.</param>
/// <param name="Parents">Make missing parents too, and succeed when it exists (like mkdir -p). Default false.</param>
public sealed record MakeDirectoryRequest(string Path = "", bool? Parents = null);

/// <summary>Body of <c>POST …/files/move</c>: a rename within the workspace.</summary>
/// <param name="From">What to move, relative to /workspace.</param>
/// <param name="To">Where to, relative to /workspace.</param>
/// <param name="Overwrite">Replace an existing file at <paramref name="To"/> (default false).</param>
/// <param name="CreateParents">Create missing parent directories of To (default true).</param>
public sealed record MoveRequest(string From = "", string To = "", bool? Overwrite = null, bool? CreateParents = null);

/// <summary>What an archive import wrote.</summary>
/// <param name="Path">The directory it was unpacked into, relative to /workspace.</param>
/// <param name="Entries">Entries written (files, directories, symlinks).</param>
/// <param name="Bytes">Bytes of file content written.</param>
public sealed record ImportResult(string Path, int Entries, long Bytes);

/// <summary>Exports a path as a tar; <paramref name="Include"/> picks entries under it (relative to it) instead of everything.</summary>
/// <param name="Path">The file, directory or symlink to export, relative to /workspace ("" for all of it).</param>
/// <param name="Include">Entries under Path to export, relative to it; everything when left out.</param>
/// <param name="MaxBytes">Refuse (413 archive_too_large) an export with more bytes of content than this.</param>
public sealed record ExportRequest(string Path = "", List<string>? Include = null, long? MaxBytes = null);

/// <param name="Patch">A unified diff (`git diff` or `diff -u`), paths relative to /workspace.</param>
public sealed record PatchRequest(string Patch = "");

/// <param name="Path">The file, relative to /workspace (after a rename: its new path).</param>
/// <param name="From">The old path of a renamed file.</param>
/// <param name="Change">"modified", "added", "deleted" or "renamed" (then <paramref name="From"/> is set).</param>
public sealed record PatchedFile(string Path, string Change, string? From = null);

/// <summary>What a patch changed, all of it or nothing.</summary>
/// <param name="Files">Each file the patch touched.</param>
public sealed record PatchResult(List<PatchedFile> Files);

/// <summary>Body of <c>POST …/checkpoints</c>.</summary>
/// <param name="Name">The checkpoint's name, unique in the sandbox.</param>
/// <param name="IncludeRoot">Also record the sandbox's root (a sandbox made from a template: everything changed outside /workspace), so diff and reset with <c>includeRoot</c> can compare with and go back to it.</param>
public sealed record CreateCheckpointRequest(string Name = "", bool IncludeRoot = false);

/// <param name="Name">Its name.</param>
/// <param name="CreatedAt">When it was taken.</param>
/// <param name="Files">Entries (files, directories, symlinks) in the checkpoint.</param>
/// <param name="Bytes">Bytes of file content it refers to (shared with the workspace where reflinks are possible).</param>
/// <param name="Root">Whether it holds the sandbox's root too (taken with <c>includeRoot</c>).</param>
/// <param name="RootFiles">Entries of the root that differed from the template when it was taken (files, directories, symlinks, deletions).</param>
/// <param name="RootBytes">Bytes of those changed files.</param>
public sealed record CheckpointInfo(string Name, DateTimeOffset CreatedAt, int Files, long Bytes, bool Root = false, int RootFiles = 0, long RootBytes = 0);

/// <summary>Answer of <c>GET …/checkpoints</c>.</summary>
/// <param name="Checkpoints">The sandbox's checkpoints.</param>
public sealed record CheckpointList(List<CheckpointInfo> Checkpoints);

/// <summary>Paths changed since a checkpoint (or the baseline), each relative to /workspace.</summary>
/// <param name="Since">The checkpoint compared with, or the baseline.</param>
/// <param name="Added">Paths that are new.</param>
/// <param name="Modified">Paths whose content, mode or type changed.</param>
/// <param name="Deleted">Paths that are gone.</param>
/// <param name="Root">With <c>includeRoot</c>: what changed in the sandbox's root outside /workspace; absent otherwise.</param>
public sealed record WorkspaceDiff(string Since, List<string> Added, List<string> Modified, List<string> Deleted, RootDiff? Root = null);

/// <summary>
/// Paths changed in a sandbox's root (a sandbox made from a template), each absolute as the sandbox
/// sees it; the baseline is the template as it is. /workspace and the sandbox's other mounts (/tmp,
/// /run/secrets …) are not part of it.
/// </summary>
/// <param name="Added">Paths that are new.</param>
/// <param name="Modified">Paths whose content, mode, owner or type changed.</param>
/// <param name="Deleted">Paths that are gone.</param>
public sealed record RootDiff(List<string> Added, List<string> Modified, List<string> Deleted);

/// <param name="To">A checkpoint's name; the baseline when absent.</param>
/// <param name="IncludeRoot">Also return the sandbox's root to it (a checkpoint taken with <c>includeRoot</c>; the baseline is the template). The sandbox is paused while its root is reset.</param>
public sealed record ResetRequest(string? To = null, bool IncludeRoot = false);
