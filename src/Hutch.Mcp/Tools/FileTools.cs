using System.ComponentModel;
using Hutch.Protocol.Api;
using ModelContextProtocol.Server;

namespace Hutch.Mcp.Tools;

/// <summary>`read`, `write` and `ls`: the workspace's files, paths relative to /workspace.</summary>
internal static class FileTools
{
    /// <summary>Entries a listing shows at most; a model asks for a folder rather than scrolling through thousands.</summary>
    public const int MaxEntries = 500;

    public static McpServerTool Read(McpSession session) => ToolFactory.Create<ReadAnswer>("read", "Read a file",
        "Read a text file of the sandbox's workspace. A file longer than " +
        $"{session.Settings.MaxOutputBytes / 1024} KiB is returned in parts: the answer says the next offset to read from. " +
        "A binary file is not shown: the answer gives its size and a resource link (hutch://sandboxes/ID/files/PATH) to read it as a resource.",
        ToolHints.Reads,
        async ([Description("The file, relative to /workspace (or absolute inside it)")] string path,
            [Description("Byte offset to start at; default 0")] long offset = 0,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var file = await session.Client.ReadFileAsync(id, path, offset, session.Settings.MaxOutputBytes, cancellationToken: cancellationToken).ConfigureAwait(false);
            var next = file.Offset + file.Length;
            var more = next < file.Size ? next : (long?)null;
            if (file.Encoding != "utf8")
            {
                var link = ResourceLinks.File(id, file.Path);
                var binary = new ReadAnswer(id, file.Path, file.Size, file.Offset, null, more, link);
                return Answers.Of(binary, $"{file.Path} is binary ({file.Size:N0} bytes): not shown; read it as the resource {link}");
            }
            var answer = new ReadAnswer(id, file.Path, file.Size, file.Offset, file.Content, more, null);
            var tail = more is { } at ? $"\n[… {file.Size - at:N0} more bytes: read on with offset {at}]" : "";
            return Answers.Of(answer, file.Content + tail);
        }).ConfigureAwait(false));

    public static McpServerTool Write(McpSession session) => ToolFactory.Create<WriteAnswer>("write", "Write a file",
        "Write a text file in the sandbox's workspace, creating missing folders; an existing file is replaced whole. " +
        "For a change to part of a file, `patch` sends only the change.",
        ToolHints.Replaces,
        async ([Description("The file, relative to /workspace")] string path,
            [Description("The file's whole new content")] string content,
            [Description("Make it executable (mode 0755)")] bool executable = false,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var written = await session.Client.WriteFileAsync(id, new WriteFileRequest(path, content, Mode: executable ? "0755" : null, CreateParents: true),
                cancellationToken).ConfigureAwait(false);
            var answer = new WriteAnswer(id, written.Path, written.Size, written.Mode);
            return Answers.Of(answer, $"wrote {written.Path} ({written.Size:N0} bytes, mode {written.Mode})");
        }).ConfigureAwait(false));

    public static McpServerTool List(McpSession session) => ToolFactory.Create<ListAnswer>("ls", "List files",
        $"List a folder of the sandbox's workspace: each entry's path, type and size (at most {MaxEntries}; the answer says when there were more). " +
        "recursive lists the whole tree under it.",
        ToolHints.Reads,
        async ([Description("The folder, relative to /workspace; default the workspace itself")] string path = "",
            [Description("List everything under it, not only its own entries")] bool recursive = false,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var list = await session.Client.ListFilesAsync(id, path, recursive, limit: MaxEntries, cancellationToken: cancellationToken).ConfigureAwait(false);
            var entries = list.Entries.Select(e => new ListedEntry(e.Path, e.Type, e.Size)).ToList();
            var answer = new ListAnswer(id, list.Path, entries, list.Truncated);
            var lines = entries.Select(e => e.Type == FileTypes.Directory ? $"{e.Path}/" : e.Type == FileTypes.File ? $"{e.Path}  {e.Size:N0}" : $"{e.Path}  ({e.Type})");
            var text = entries.Count == 0 ? $"{(list.Path.Length == 0 ? "/workspace" : list.Path)} is empty" : string.Join('\n', lines);
            return Answers.Of(answer, list.Truncated ? $"{text}\n[… more entries: list a folder inside it]" : text);
        }).ConfigureAwait(false));
}

/// <summary>A file read.</summary>
/// <param name="Sandbox">The sandbox read.</param>
/// <param name="Path">The file, relative to /workspace.</param>
/// <param name="Size">The whole file's size in bytes.</param>
/// <param name="Offset">Where Content starts.</param>
/// <param name="Content">The text read; null for a binary file.</param>
/// <param name="Next">The offset to read on from when the file goes on; null at its end.</param>
/// <param name="Resource">For a binary file: the resource link to read it with.</param>
public sealed record ReadAnswer(string Sandbox, string Path, long Size, long Offset, string? Content, long? Next, string? Resource);

/// <summary>A file written.</summary>
public sealed record WriteAnswer(string Sandbox, string Path, long Size, string Mode);

/// <summary>One entry of a listing.</summary>
public sealed record ListedEntry(string Path, string Type, long Size);

/// <summary>A listing.</summary>
/// <param name="Truncated">There were more entries than the listing shows.</param>
public sealed record ListAnswer(string Sandbox, string Path, IReadOnlyList<ListedEntry> Entries, bool Truncated);
