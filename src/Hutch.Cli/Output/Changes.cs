using System.Text;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Output;

/// <summary>
/// Changed paths one per line, git-status style: <c>A path</c> (added), <c>M path</c> (modified),
/// <c>D path</c> (deleted), <c>R from -&gt; path</c> (renamed), in path order.
/// </summary>
internal static class Changes
{
    /// <summary>The workspace's changes (paths relative to /workspace), then the root's if it was included (absolute paths).</summary>
    public static string Render(WorkspaceDiff diff) => Render(diff.Added, diff.Modified, diff.Deleted)
        + (diff.Root is { } root ? Render(root.Added, root.Modified, root.Deleted) : "");

    private static string Render(List<string> added, List<string> modified, List<string> deleted) => Lines(
        added.Select(p => ('A', p, (string?)null))
            .Concat(modified.Select(p => ('M', p, (string?)null)))
            .Concat(deleted.Select(p => ('D', p, (string?)null))));

    public static string Render(PatchResult result) => Lines(result.Files.Select(f => (Letter(f.Change), f.Path, f.From)));

    private static char Letter(string change) => change switch
    {
        "added" => 'A',
        "modified" => 'M',
        "deleted" => 'D',
        "renamed" => 'R',
        _ => '?',
    };

    private static string Lines(IEnumerable<(char Letter, string Path, string? From)> changes)
    {
        var text = new StringBuilder();
        foreach (var (letter, path, from) in changes.OrderBy(c => c.Path, StringComparer.Ordinal))
        {
            text.Append(letter).Append(' ');
            if (from is not null)
            {
                text.Append(SafeText.Show(from)).Append(" -> ");
            }
            text.Append(SafeText.Show(path)).Append('\n');
        }
        return text.ToString();
    }
}
