using System.Diagnostics;
using System.Text;
using Hutch.Files.Patching;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Files.Patching;

/// <summary>
/// The property that matters: for any two files, applying what `git diff` says to the old one gives
/// the new one byte for byte. Random-ish contents (few distinct lines, so context repeats; CRLF,
/// Latin-1 and invalid UTF-8 bytes; files with and without a final newline) at every context size.
/// </summary>
[Trait("Category", "Unit")]
public sealed class GitRoundTripTests : IDisposable
{
    private static readonly byte[][] Vocabulary =
    [
        "a"u8.ToArray(), "b"u8.ToArray(), "c"u8.ToArray(), ""u8.ToArray(), "    return x;"u8.ToArray(), "}"u8.ToArray(),
        "crlf\r"u8.ToArray(), [(byte)'c', (byte)'a', (byte)'f', 0xe9], [0xff, 0xfe, (byte)'x'], "--- a/x"u8.ToArray(), "+++ b/x"u8.ToArray(), "@@ -1 +1 @@"u8.ToArray(),
    ];

    private readonly string _dir = TestPaths.NewTempDir("hutch-patch");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Apply_OfGitDiffOfRandomEdits_ReproducesTheNewFileByteForByte()
    {
        var random = new Random(20251123);
        for (var round = 0; round < 120; round++)
        {
            var oldLines = RandomLines(random, random.Next(0, 40));
            var newLines = Edit(random, oldLines);
            var old = Join(oldLines, finalNewline: random.Next(5) > 0);
            var @new = Join(newLines, finalNewline: random.Next(5) > 0);
            if (old.AsSpan().SequenceEqual(@new))
            {
                continue;
            }
            var context = random.Next(0, 5);
            var diff = GitDiff(old, @new, context);

            var patch = Assert.Single(UnifiedDiff.Parse(diff));
            byte[] result;
            try
            {
                result = HunkApplier.Apply(patch, old);
            }
            catch (PatchException e)
            {
                Assert.Fail($"round {round} (-U{context}): {e.Message}\n{Encoding.UTF8.GetString(diff)}");
                throw;
            }
            Assert.True(@new.AsSpan().SequenceEqual(result), $"round {round} (-U{context}) gave a different file for:\n{Encoding.UTF8.GetString(diff)}");
        }
    }

    [Fact]
    public void Apply_OfGitDiffToAFileThatGrewAboveTheChange_AppliesAtTheNewPlace()
    {
        byte[][] oldLines = [.. Enumerable.Range(1, 30).Select(i => Encoding.ASCII.GetBytes($"line {i}"))];
        var newLines = oldLines.ToList();
        newLines[15] = "changed"u8.ToArray();
        newLines.Insert(25, "inserted"u8.ToArray());
        var diff = GitDiff(Join(oldLines, true), Join(newLines, true), context: 3);
        byte[][] prefix = ["added 1"u8.ToArray(), "added 2"u8.ToArray()];

        var result = HunkApplier.Apply(UnifiedDiff.Parse(diff)[0], Join([.. prefix, .. oldLines], true));

        Assert.Equal(Join([.. prefix, .. newLines], true), result);
    }

    private static List<byte[]> RandomLines(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => Vocabulary[random.Next(Vocabulary.Length)])];

    /// <summary>A few random inserts, deletions and replacements.</summary>
    private static List<byte[]> Edit(Random random, List<byte[]> lines)
    {
        var edited = lines.ToList();
        for (var edits = random.Next(1, 6); edits > 0; edits--)
        {
            var at = random.Next(edited.Count + 1);
            switch (random.Next(3))
            {
                case 0:
                    edited.InsertRange(at, RandomLines(random, random.Next(1, 4)));
                    break;
                case 1 when at < edited.Count:
                    edited.RemoveRange(at, Math.Min(random.Next(1, 4), edited.Count - at));
                    break;
                default:
                    if (at < edited.Count)
                    {
                        edited[at] = Vocabulary[random.Next(Vocabulary.Length)];
                    }
                    break;
            }
        }
        return edited;
    }

    private static byte[] Join(IEnumerable<byte[]> lines, bool finalNewline)
    {
        var bytes = new List<byte>();
        foreach (var line in lines)
        {
            bytes.AddRange(line);
            bytes.Add((byte)'\n');
        }
        if (!finalNewline && bytes.Count > 0)
        {
            bytes.RemoveAt(bytes.Count - 1);
        }
        return [.. bytes];
    }

    /// <summary>`git diff --no-index` of the two contents, as the bytes git wrote.</summary>
    private byte[] GitDiff(byte[] old, byte[] @new, int context)
    {
        File.WriteAllBytes(Path.Join(_dir, "old.txt"), old);
        File.WriteAllBytes(Path.Join(_dir, "new.txt"), @new);
        var start = new ProcessStartInfo("git") { WorkingDirectory = _dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[]
        {
            "-c", "core.quotePath=true", "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
            "diff", "--no-index", "--no-color", "--no-ext-diff", "--text", $"-U{context}", "old.txt", "new.txt",
        })
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["GIT_CONFIG_NOSYSTEM"] = "1";
        start.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        using var git = Process.Start(start) ?? throw new InvalidOperationException("cannot start git, which this test needs");
        using var output = new MemoryStream();
        var stderr = git.StandardError.ReadToEndAsync();
        git.StandardOutput.BaseStream.CopyTo(output);
        git.WaitForExit();
        Assert.True(git.ExitCode == 1, $"git diff exited with {git.ExitCode}: {stderr.Result}");
        return output.ToArray();
    }
}
