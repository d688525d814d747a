using System.Text.RegularExpressions;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// The daemon's feature folders (docs/design/0007) depend on each other one way only. Read from the
/// sources, since global usings hide who uses whom: a folder uses another when its code (comments
/// left out) names a type declared there.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class DaemonLayoutTests
{
    private static readonly string Daemon = Path.Join(TestPaths.RepoRoot, "src", "Hutch.Daemon");

    [GeneratedRegex(@"^\s*(?:(?:public|internal|private|protected|static|sealed|abstract|partial|readonly)\s+)*(?:class|record|struct|interface|enum)\s+(?:struct\s+|class\s+)?(\w+)", RegexOptions.Multiline)]
    private static partial Regex Declaration();

    /// <summary>A capitalized name that is not a member (after a dot: ErrorCodes.DiskFull is no use of the type DiskFull).</summary>
    [GeneratedRegex(@"(?<![\w.])[A-Z]\w+\b")]
    private static partial Regex Name();

    [GeneratedRegex(@"""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex StringLiteral();

    [Fact]
    public void FeatureFolders_HaveNoCycle()
    {
        var uses = FolderGraph();
        foreach (var start in uses.Keys)
        {
            var path = CycleFrom(start, start, uses, [start]);
            Assert.True(path is null, $"the daemon's folders depend on each other in a circle: {string.Join(" -> ", path ?? [])}");
        }
    }

    [Fact]
    public void TheSandboxFolder_KnowsNoFeature()
    {
        var features = new[] { "Exec", "Processes", "Sessions", "Shells", "Services", "Ports", "Files", "Network" };
        Assert.Empty(FolderGraph()["Sandboxes"].Intersect(features));
    }

    /// <summary>Folder → the folders whose types its code names.</summary>
    private static Dictionary<string, HashSet<string>> FolderGraph()
    {
        var sources = Directory.EnumerateFiles(Daemon, "*.cs", SearchOption.AllDirectories)
            .Select(f => (Folder: FolderOf(f), Code: WithoutComments(File.ReadAllText(f))))
            .Where(s => s.Folder is not null)
            .ToList();
        var home = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (folder, code) in sources)
        {
            foreach (Match m in Declaration().Matches(code))
            {
                home.TryAdd(m.Groups[1].Value, folder!);
            }
        }
        var uses = sources.Select(s => s.Folder!).Distinct().ToDictionary(f => f, _ => new HashSet<string>());
        foreach (var (folder, code) in sources)
        {
            foreach (Match m in Name().Matches(code))
            {
                if (home.TryGetValue(m.Value, out var other) && other != folder)
                {
                    uses[folder!].Add(other);
                }
            }
        }
        Assert.True(uses.Count >= 8, $"found only the folders {string.Join(", ", uses.Keys)} under {Daemon}");
        return uses;
    }

    /// <summary>The folder a source file is in (null for the project's root: its composition sees every folder by design).</summary>
    private static string? FolderOf(string file)
    {
        var relative = Path.GetRelativePath(Daemon, file).Split(Path.DirectorySeparatorChar);
        return relative.Length < 2 || relative[0] is "obj" or "bin" ? null : relative[0];
    }

    /// <summary>The code without comments and string literals (messages name things in words, not types).</summary>
    private static string WithoutComments(string code) => StringLiteral().Replace(
        string.Join('\n', code.Split('\n').Select(line => line.IndexOf("//", StringComparison.Ordinal) is var at and >= 0 && !line[..at].Contains('"') ? line[..at] : line)),
        "\"\"");

    private static List<string>? CycleFrom(string start, string at, Dictionary<string, HashSet<string>> uses, List<string> path)
    {
        foreach (var next in uses[at])
        {
            if (next == start)
            {
                return [.. path, next];
            }
            if (!path.Contains(next) && CycleFrom(start, next, uses, [.. path, next]) is { } cycle)
            {
                return cycle;
            }
        }
        return null;
    }
}
