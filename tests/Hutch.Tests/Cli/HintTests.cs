using System.CommandLine;
using System.Text.RegularExpressions;
using Hutch.Cli;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>
/// Every `hutch …` that a message, a description or a doc tells a user to run names a command (and
/// subcommand and options) the CLI has: a hint that names `hutch ps` when the command is `hutch proc
/// ls` sends the reader nowhere. Read from the sources (string literals, comments left out) and the docs.
/// </summary>
[Trait("Category", "Unit")]
public sealed partial class HintTests
{
    /// <summary>A hint in backticks: `hutch proc ls ID`, `hutch rm {id}`.</summary>
    [GeneratedRegex(@"`(?:\./)?hutch ([^`]+)`")]
    private static partial Regex Backticked();

    [GeneratedRegex(@"""(?:[^""\\\n]|\\.)*""")]
    private static partial Regex StringLiteral();

    [Fact]
    public void EveryHutchCommandNamedInAMessage_Exists()
    {
        var wrong = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Join(TestPaths.RepoRoot, "src"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains("/obj/", StringComparison.Ordinal) || file.Contains("/bin/", StringComparison.Ordinal))
            {
                continue;
            }
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                var code = lines[i].TrimStart();
                if (code.StartsWith("//", StringComparison.Ordinal) || code.StartsWith('*'))
                {
                    continue;
                }
                foreach (Match literal in StringLiteral().Matches(code))
                {
                    wrong.AddRange(Check(literal.Value).Select(w => $"{Path.GetRelativePath(TestPaths.RepoRoot, file)}:{i + 1}: {w}"));
                }
            }
        }
        Assert.True(wrong.Count == 0, "hints name what the CLI does not have:\n" + string.Join('\n', wrong));
    }

    [Fact]
    public void EveryHutchCommandNamedInTheDocs_Exists()
    {
        var docs = Directory.EnumerateFiles(Path.Join(TestPaths.RepoRoot, "docs"), "*.md", SearchOption.AllDirectories)
            .Append(Path.Join(TestPaths.RepoRoot, "README.md"));
        var wrong = docs.SelectMany(f => Check(File.ReadAllText(f)).Select(w => $"{Path.GetRelativePath(TestPaths.RepoRoot, f)}: {w}")).ToList();
        Assert.True(wrong.Count == 0, "the docs name what the CLI does not have:\n" + string.Join('\n', wrong));
    }

    [Theory]
    [InlineData("`hutch ps`")]
    [InlineData("`hutch proc list-all ID`")]
    [InlineData("`hutch fs rm ID --recurse`")]
    public void AHintToNothing_IsCaught(string text) => Assert.NotEmpty(Check(text));

    [Theory]
    [InlineData("`hutch proc ls ID`")]
    [InlineData("`hutch shell {sandbox} --attach {shell}`")]
    [InlineData("`hutch exec -i ID -- cmd < file`")]
    [InlineData("`hutch --help`")]
    public void AHintToACommand_Passes(string text) => Assert.Empty(Check(text));

    private static readonly RootCommand Root = HutchCli.BuildRoot(new TestConsole().Console);

    /// <summary>What is wrong with each `hutch …` in the text: an unknown command, subcommand or option.</summary>
    private static IEnumerable<string> Check(string text)
    {
        foreach (Match hint in Backticked().Matches(text))
        {
            Command command = Root;
            foreach (var word in hint.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (word == "--" || word.StartsWith('<') || word.StartsWith('|'))
                {
                    break; // the command's own arguments, or the shell's
                }
                if (word.StartsWith('-'))
                {
                    var option = word.Split('=')[0];
                    if (!OptionsOf(command).Any(o => o.Name == option || o.Aliases.Contains(option)))
                    {
                        yield return $"{hint.Value}: `{CommandName(command)}` has no option {option}";
                    }
                    continue;
                }
                if (command.Subcommands.Count > 0 && Regex.IsMatch(word, "^[a-z][a-z-]*$"))
                {
                    var sub = command.Subcommands.FirstOrDefault(c => c.Name == word || c.Aliases.Contains(word));
                    if (sub is null)
                    {
                        yield return $"{hint.Value}: `{CommandName(command)}` has no command '{word}'";
                        break;
                    }
                    command = sub;
                }
            }
        }
    }

    /// <summary>The command's options and those it inherits (--help, --version).</summary>
    private static IEnumerable<Option> OptionsOf(Command command) =>
        command.Options.Concat(Root.Options.Where(o => o.Recursive)).Concat(command == Root ? Root.Options : []);

    private static string CommandName(Command command) => command == Root ? "hutch" : $"hutch … {command.Name}";
}
