using System.ComponentModel;
using Hutch.Protocol.Api;
using ModelContextProtocol.Server;

namespace Hutch.Mcp.Tools;

/// <summary>`network` and `events`: what the sandbox may reach, and what it tried (docs/network.md).</summary>
internal static class NetworkTools
{
    /// <summary>Events an answer lists at most.</summary>
    public const int MaxEvents = 100;

    public static McpServerTool Network(McpSession session) => ToolFactory.Create<NetworkAnswer>("network", "Read or set the network policy",
        "Read the sandbox's network policy, or set it: mode none (nothing leaves), allowlist (only the allow entries: " +
        "names like pypi.org or *.github.com, with :port, or addresses and CIDRs), or public (the internet, never private " +
        "networks, the host or metadata addresses), with deny entries over either. Setting replaces the whole policy. " +
        "Left without arguments, it only reads.",
        ToolHints.Replaces with { OpenWorld = true },
        async ([Description("none, allowlist or public; leave out to only read the policy")] string? mode = null,
            [Description("Entries allowed (allowlist mode), e.g. [\"pypi.org\", \"files.pythonhosted.org:443\"]")] string[]? allow = null,
            [Description("Entries refused in any mode")] string[]? deny = null,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var info = mode is null && allow is null && deny is null
                ? await session.Client.GetSandboxAsync(id, cancellationToken).ConfigureAwait(false)
                : await session.Client.SetNetworkAsync(id, new NetworkPolicy(mode ?? (allow is { Length: > 0 } ? NetworkModes.Allowlist : null), allow, deny), cancellationToken).ConfigureAwait(false);
            var policy = info.Network ?? new NetworkPolicy(NetworkModes.None);
            var answer = new NetworkAnswer(id, policy.Mode ?? NetworkModes.None, policy.Allow ?? [], policy.Deny ?? []);
            return Answers.Of(answer, $"{id}: {answer.Mode}" + (answer.Allow.Count > 0 ? $"; allow {string.Join(", ", answer.Allow)}" : "")
                + (answer.Deny.Count > 0 ? $"; deny {string.Join(", ", answer.Deny)}" : ""));
        }).ConfigureAwait(false));

    public static McpServerTool Events(McpSession session) => ToolFactory.Create<EventsAnswer>("events", "What the network saw",
        $"List the sandbox's network events from a cursor (0: the first), at most {MaxEvents}: connections and name lookups, " +
        "allowed or refused, each refusal with its code and the rule or reason. Use it when a download or a request fails.",
        ToolHints.Reads,
        async ([Description("Where to read from: 0, or the cursor the last answer gave")] long cursor = 0,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var events = new List<NetworkEventAnswer>();
            var next = cursor;
            await foreach (var e in session.Client.ReadNetworkEventsAsync(id, cursor, follow: false, cancellationToken).ConfigureAwait(false))
            {
                if (events.Count == MaxEvents)
                {
                    break;
                }
                events.Add(new NetworkEventAnswer(e.Time, e.Outcome, e.Protocol, e.Host, e.Address, e.Port, e.Code, e.Message));
                next = e.Cursor + 1;
            }
            var answer = new EventsAnswer(id, events, next);
            var text = events.Count == 0 ? "no network events" : string.Join('\n', events.Select(e => $"{e.Time:HH:mm:ss} {e.Outcome} {e.Message}"));
            return Answers.Of(answer, $"{text}\n(read on from cursor {next})");
        }).ConfigureAwait(false));
}

/// <summary>A sandbox's network policy.</summary>
/// <param name="Mode">none, allowlist or public.</param>
public sealed record NetworkAnswer(string Sandbox, string Mode, IReadOnlyList<string> Allow, IReadOnlyList<string> Deny);

/// <summary>One connection or lookup.</summary>
/// <param name="Outcome">allowed, refused or failed.</param>
/// <param name="Code">Why it was refused or failed, a stable code.</param>
public sealed record NetworkEventAnswer(DateTimeOffset Time, string Outcome, string Protocol, string? Host, string? Address, int Port, string? Code, string Message);

/// <summary>Network events from a cursor.</summary>
/// <param name="Cursor">Where to read on from.</param>
public sealed record EventsAnswer(string Sandbox, IReadOnlyList<NetworkEventAnswer> Events, long Cursor);
