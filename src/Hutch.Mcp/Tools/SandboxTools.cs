using System.ComponentModel;
using Hutch.Protocol.Api;
using ModelContextProtocol.Server;

namespace Hutch.Mcp.Tools;

/// <summary>`create`, `sandboxes` and `delete`: for a model that works with more than its session's own sandbox.</summary>
internal static class SandboxTools
{
    public static McpServerTool Create(McpSession session) => ToolFactory.Create<SandboxAnswer>("create", "Create a sandbox",
        "Create another sandbox (a fresh Linux machine with an empty /workspace), for work that must stay apart from " +
        "this session's own sandbox, which every tool uses when `sandbox` is left out. Pass its id as `sandbox` to other tools. " +
        "It is deleted when its TTL runs out.",
        ToolHints.Adds,
        async ([Description("A name for it, unique on the host ([a-z0-9-], 1-63); ids work as well")] string? name = null,
            [Description("Minutes until it is deleted by itself; default 60")] long? ttlMinutes = null,
            CancellationToken cancellationToken = default) => await Answers.GuardAsync(async () =>
        {
            var minutes = ttlMinutes ?? 60;
            if (minutes is < 1 or > 43200)
            {
                throw new ToolInputException(McpCodes.InvalidArgument, $"ttlMinutes is 1-43200 (30 days), not {minutes}");
            }
            var made = await session.Client.CreateSandboxAsync(new CreateSandboxRequest(Name: name, TtlSeconds: minutes * 60,
                Labels: new Dictionary<string, string> { [McpSession.Label] = "created" }), cancellationToken).ConfigureAwait(false);
            var answer = SandboxAnswer.Of(made, session);
            return Answers.Of(answer, $"created {Named(answer)}, deleted by itself at {made.ExpiresAt:u}");
        }).ConfigureAwait(false));

    public static McpServerTool List(McpSession session) => ToolFactory.Create<SandboxesAnswer>("sandboxes", "List sandboxes",
        "List the sandboxes there are: id, name, state, when each expires, and which is this session's own.",
        ToolHints.Reads,
        async (CancellationToken cancellationToken = default) => await Answers.GuardAsync(async () =>
        {
            var all = await session.Client.ListSandboxesAsync(cancellationToken).ConfigureAwait(false);
            var answer = new SandboxesAnswer(session.Own, [.. all.Select(s => SandboxAnswer.Of(s, session))]);
            var text = answer.Sandboxes.Count == 0 ? "no sandboxes" : string.Join('\n', answer.Sandboxes.Select(s =>
                $"{Named(s)}  {s.State}{(s.Own ? "  (this session's)" : "")}{(s.ExpiresAt is { } at ? $"  expires {at:u}" : "")}"));
            return Answers.Of(answer, text);
        }).ConfigureAwait(false));

    public static McpServerTool Delete(McpSession session) => ToolFactory.Create<DeletedAnswer>("delete", "Delete a sandbox",
        "Delete a sandbox and everything in it: its files, processes and checkpoints. Deleting this session's own " +
        "sandbox gives the session a new, empty one on its next call.",
        ToolHints.Replaces,
        async ([Description("The sandbox's id or name")] string sandbox,
            CancellationToken cancellationToken = default) => await Answers.GuardAsync(async () =>
        {
            await session.Client.DeleteSandboxAsync(sandbox, cancellationToken: cancellationToken).ConfigureAwait(false);
            session.Forget(sandbox);
            return Answers.Of(new DeletedAnswer(sandbox), $"deleted {sandbox}");
        }).ConfigureAwait(false));

    private static string Named(SandboxAnswer s) => s.Name is { Length: > 0 } name ? $"{s.Id} ({name})" : s.Id;
}

/// <summary>A sandbox, as a model needs to know it.</summary>
/// <param name="Id">Its id: pass it as `sandbox` to other tools.</param>
/// <param name="Name">Its name, if it has one (works as `sandbox` too).</param>
/// <param name="State">running, or another state of its life.</param>
/// <param name="ExpiresAt">When its TTL ends and it is deleted.</param>
/// <param name="Own">Whether it is this session's own sandbox.</param>
public sealed record SandboxAnswer(string Id, string? Name, string State, DateTimeOffset? ExpiresAt, bool Own)
{
    internal static SandboxAnswer Of(SandboxInfo s, McpSession session) => new(s.Id, s.Name, s.State, s.ExpiresAt, s.Id == session.Own);
}

/// <summary>The sandboxes there are.</summary>
/// <param name="Own">This session's own sandbox, once it has one.</param>
public sealed record SandboxesAnswer(string? Own, IReadOnlyList<SandboxAnswer> Sandboxes);

/// <summary>A sandbox deleted.</summary>
public sealed record DeletedAnswer(string Deleted);
