using System.Text;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Cli;

/// <summary>`hutch create --artifacts`, the note `hutch exec` prints of what it kept, and `hutch artifacts ls|get|url|rm`, as a user runs them.</summary>
[Collection(DaemonCollection.Name)]
public sealed class ArtifactsCliTests(DaemonFixture fixture)
{
    [Fact]
    public async Task ExecSaysWhatItKept_AndArtifactsListsGetsLinksAndRemovesIt_AfterTheSandboxIsGone()
    {
        var id = (await HutchOkAsync("create", "--artifacts", "out/**")).Trim();

        var exec = await HutchAsync("exec", id, "--", "sh", "-c", "mkdir -p out && echo a,b > out/t.csv && seq 7 | while read i; do echo $i > out/n$i.txt; done");
        var quiet = await HutchAsync("exec", id, "--", "true");
        var listed = await HutchOkAsync("artifacts", "ls", id);
        var got = await HutchOkAsync("artifacts", "get", id, "out/t.csv");
        var url = (await HutchOkAsync("artifacts", "url", id, "out/t.csv")).Trim();
        using var anonymous = new HttpClient();
        var opened = await anonymous.GetStringAsync(url);
        await HutchOkAsync("rm", id);
        var afterDelete = await HutchOkAsync("artifacts", "ls", id);
        var removed = await HutchAsync("artifacts", "rm", id);
        var gone = await HutchAsync("artifacts", "ls", id);

        Assert.Equal(0, exec.Code);
        // Five named by path and size, the other three counted, and where to see them all.
        Assert.Matches(@"^hutch: kept (out/\S+ \(\d+ B\), ){4}out/\S+ \(\d+ B\) and 3 more: hutch artifacts ls " + id + "\n$", exec.Stderr);
        Assert.Equal((0, ""), (quiet.Code, quiet.Stderr));
        Assert.Contains("out/t.csv", listed);
        Assert.Contains("stored", listed);
        Assert.Equal("a,b\n", got);
        Assert.Equal("a,b\n", opened);
        Assert.Contains("out/t.csv", afterDelete);
        Assert.Equal(0, removed.Code);
        Assert.Equal(8, removed.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("out/t.csv\n", removed.Stdout);
        Assert.NotEqual(0, gone.Code);
        Assert.Contains("artifact_not_found", gone.Stderr);
    }

    [Fact]
    public async Task ASessionCommand_SaysWhatItKept()
    {
        var id = (await HutchOkAsync("create", "--artifacts", "*.md")).Trim();
        try
        {
            await HutchOkAsync("session", "create", id, "dev");
            var exec = await HutchAsync("session", "exec", id, "dev", "--", "echo '# notes' > notes.md");

            Assert.Equal(0, exec.Code);
            Assert.Equal($"hutch: kept notes.md (8 B): hutch artifacts ls {id}\n", exec.Stderr);
        }
        finally
        {
            await HutchAsync("rm", id);
            await HutchAsync("artifacts", "rm", id);
        }
    }

    private async Task<(int Code, string Stdout, string Stderr)> HutchAsync(params string[] args)
    {
        var (code, stdout, stderr) = await CliProcess.RunAsync(fixture, Path.GetTempPath(), null, args);
        return (code, Encoding.UTF8.GetString(stdout), stderr);
    }

    private async Task<string> HutchOkAsync(params string[] args)
    {
        var (code, stdout, stderr) = await HutchAsync(args);
        Assert.True(code == 0, $"hutch {string.Join(' ', args)} exited {code}: {stderr}");
        return stdout;
    }
}
