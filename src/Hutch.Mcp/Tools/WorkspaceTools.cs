using System.ComponentModel;
using Hutch.Protocol.Api;
using ModelContextProtocol.Server;

namespace Hutch.Mcp.Tools;

/// <summary>`patch`, `checkpoint`, `diff` and `reset`: changes to the workspace as a whole.</summary>
internal static class WorkspaceTools
{
    public static McpServerTool Patch(McpSession session) => ToolFactory.Create<PatchAnswer>("patch", "Apply a patch",
        "Apply a unified diff (as `git diff` or `diff -u` print it, paths relative to /workspace) to the workspace: " +
        "all of it or nothing. Cheaper than rewriting a large file with `write` for a small change.",
        ToolHints.Replaces with { Idempotent = false },
        async ([Description("The unified diff")] string patch,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var result = await session.Client.ApplyPatchAsync(id, patch, cancellationToken).ConfigureAwait(false);
            var answer = new PatchAnswer(id, result.Files);
            return Answers.Of(answer, string.Join('\n', result.Files.Select(f => f.From is null ? $"{f.Change} {f.Path}" : $"{f.Change} {f.From} → {f.Path}")));
        }).ConfigureAwait(false));

    public static McpServerTool Checkpoint(McpSession session) => ToolFactory.Create<CheckpointAnswer>("checkpoint", "Checkpoint the workspace",
        "Save the workspace's files as a named checkpoint, to compare with (`diff`) or go back to (`reset`) later. " +
        "Make one before a risky change.",
        ToolHints.Adds,
        async ([Description("A name for it, unique in the sandbox ([a-z0-9._-]); default one made from the time")] string? name = null,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var made = await session.Client.CreateCheckpointAsync(id, name ?? $"cp-{DateTimeOffset.UtcNow:yyyyMMdd-HHmmss-fff}", cancellationToken: cancellationToken).ConfigureAwait(false);
            var answer = new CheckpointAnswer(id, made.Name, made.Files, made.Bytes);
            return Answers.Of(answer, $"checkpoint {made.Name}: {made.Files:N0} files, {made.Bytes:N0} bytes");
        }).ConfigureAwait(false));

    public static McpServerTool Diff(McpSession session) => ToolFactory.Create<DiffAnswer>("diff", "What changed",
        "List the workspace's files added, modified and deleted since a checkpoint (or since the sandbox started, " +
        "or since files were last imported).",
        ToolHints.Reads,
        async ([Description("The checkpoint to compare with; default the baseline")] string? since = null,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var diff = await session.Client.DiffAsync(id, since, cancellationToken: cancellationToken).ConfigureAwait(false);
            var answer = new DiffAnswer(id, diff.Since, diff.Added, diff.Modified, diff.Deleted);
            return Answers.Of(answer, Text(answer, "since"));
        }).ConfigureAwait(false));

    public static McpServerTool Reset(McpSession session) => ToolFactory.Create<DiffAnswer>("reset", "Go back to a checkpoint",
        "Put the workspace's files back as they were at a checkpoint (or the baseline): what was added since is deleted, " +
        "what was changed or deleted comes back. Running processes are not stopped.",
        ToolHints.Replaces,
        async ([Description("The checkpoint to go back to; default the baseline")] string? to = null,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var undone = await session.Client.ResetAsync(id, to, cancellationToken: cancellationToken).ConfigureAwait(false);
            var answer = new DiffAnswer(id, undone.Since, undone.Added, undone.Modified, undone.Deleted);
            return Answers.Of(answer, Text(answer, "reset to"));
        }).ConfigureAwait(false));

    private static string Text(DiffAnswer d, string verb)
    {
        if (d.Added.Count + d.Modified.Count + d.Deleted.Count == 0)
        {
            return $"no changes ({verb} {d.Since})";
        }
        var lines = d.Added.Select(p => $"A {p}").Concat(d.Modified.Select(p => $"M {p}")).Concat(d.Deleted.Select(p => $"D {p}"));
        return $"{verb} {d.Since}:\n{string.Join('\n', lines)}";
    }
}

/// <summary>What a patch changed.</summary>
public sealed record PatchAnswer(string Sandbox, IReadOnlyList<PatchedFile> Files);

/// <summary>A checkpoint made.</summary>
public sealed record CheckpointAnswer(string Sandbox, string Name, int Files, long Bytes);

/// <summary>Paths changed since a checkpoint (diff), or undone by going back to it (reset).</summary>
public sealed record DiffAnswer(string Sandbox, string Since, IReadOnlyList<string> Added, IReadOnlyList<string> Modified, IReadOnlyList<string> Deleted);
