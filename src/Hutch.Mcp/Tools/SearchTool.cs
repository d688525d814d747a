using System.ComponentModel;
using Hutch.Protocol.Api;
using ModelContextProtocol.Server;

namespace Hutch.Mcp.Tools;

/// <summary>`search`: lines of the workspace's text files that match, with grep inside the sandbox (no shell: the pattern is one argument).</summary>
internal static class SearchTool
{
    public static McpServerTool Create(McpSession session) => ToolFactory.Create<SearchAnswer>("search", "Search the files",
        "Find the lines of text files under a folder of the workspace that contain a string (or match a regular " +
        "expression): each match's path, line number and line, at most maxResults. Skips binary files, .git and node_modules.",
        ToolHints.Reads,
        async ([Description("What to look for: a plain string, or an extended regular expression when regex is true")] string pattern,
            [Description("The folder (or file) to search, relative to /workspace; default the whole workspace")] string path = ".",
            [Description("Treat pattern as an extended regular expression (grep -E)")] bool regex = false,
            [Description("Ignore case")] bool ignoreCase = false,
            [Description("Only files whose name matches this glob, e.g. *.py")] string? glob = null,
            [Description("Most matches to return; default 100, at most 1000")] int maxResults = 100,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await Answers.GuardAsync(async () =>
        {
            if (pattern.Length == 0 || maxResults is < 1 or > 1000)
            {
                throw new ToolInputException(McpCodes.InvalidArgument, pattern.Length == 0 ? "pattern is empty" : $"maxResults is 1-1000, not {maxResults}");
            }
            var id = await session.SandboxAsync(sandbox, cancellationToken).ConfigureAwait(false);
            List<string> argv = ["grep", "-rnI", "--exclude-dir=.git", "--exclude-dir=node_modules", regex ? "-E" : "-F"];
            if (ignoreCase)
            {
                argv.Add("-i");
            }
            if (glob is not null)
            {
                argv.Add($"--include={glob}");
            }
            argv.AddRange(["-e", pattern, "--", path]);
            var result = await session.Client.ExecAsync(id, new ExecRequest(Argv: [.. argv], TimeoutMs: 60_000, MaxOutputBytes: 1 << 20), cancellationToken).ConfigureAwait(false);
            if (result.ExitCode is not (0 or 1))
            {
                throw new ToolInputException(McpCodes.InvalidArgument, $"grep failed: {result.Stderr.Trim()}");
            }
            var matches = new List<SearchMatch>();
            foreach (var line in result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (matches.Count == maxResults)
                {
                    break;
                }
                // path:line:text (a path with ':' in it is rare; the line number tells the fields apart)
                var first = line.IndexOf(':', StringComparison.Ordinal);
                var second = first < 0 ? -1 : line.IndexOf(':', first + 1);
                if (second > 0 && int.TryParse(line.AsSpan(first + 1, second - first - 1), out var number))
                {
                    var text = line[(second + 1)..];
                    matches.Add(new SearchMatch(line[..first].TrimStart('.', '/'), number, text.Length > 500 ? text[..500] + "…" : text));
                }
            }
            var all = result.Stdout.Count(c => c == '\n');
            var answer = new SearchAnswer(id, matches, all > matches.Count || result.Truncated);
            var shown = matches.Count == 0 ? "no matches" : string.Join('\n', matches.Select(m => $"{m.Path}:{m.Line}: {m.Text}"));
            return Answers.Of(answer, answer.More ? $"{shown}\n[… more matches: narrow the path, the glob or the pattern]" : shown);
        }).ConfigureAwait(false));
}

/// <summary>One matching line.</summary>
/// <param name="Path">The file, relative to /workspace.</param>
/// <param name="Line">Its line number (from 1).</param>
/// <param name="Text">The line (cut at 500 characters).</param>
public sealed record SearchMatch(string Path, int Line, string Text);

/// <summary>What a search found.</summary>
/// <param name="More">There were more matches than returned.</param>
public sealed record SearchAnswer(string Sandbox, IReadOnlyList<SearchMatch> Matches, bool More);
