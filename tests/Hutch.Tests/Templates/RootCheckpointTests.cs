using System.Security.Cryptography;
using Hutch.Client;
using Hutch.Daemon.Templates;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Templates;

/// <summary>
/// Checkpoints, diff and reset that include a sandbox's writable root (--include-root): every kind of
/// change to a template's files, through the real daemon, runc and overlayfs.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class RootCheckpointTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    private TemplateRecord MakeTemplate() =>
        MinimalRoot.AddTemplate(fixture.Daemon.Engine, "r" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), null,
            new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" });

    private static async Task Sh(TestSandbox sandbox, string command)
    {
        var result = await sandbox.ShAsync(command);
        Assert.True(result.ExitCode == 0, $"{command}: {result.ExitCode} [{result.Stdout}] [{result.Stderr}]");
    }

    private static void AssertRoot(RootDiff? root, string[] added, string[] modified, string[] deleted)
    {
        Assert.NotNull(root);
        static string Show(IEnumerable<string> paths) => string.Join(" ", paths);
        Assert.Equal((Show(added), Show(modified), Show(deleted)), (Show(root.Added), Show(root.Modified), Show(root.Deleted)));
    }

    [Fact]
    public async Task DiffAndReset_WithTheRoot_SeeAndUndoEveryKindOfChange_AndTheWorkspaceStaysItsOwn()
    {
        var template = MakeTemplate();
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name, User: "root"));

        // A template's file changed, one added, one deleted, an owner changed, a new tree, and a
        // template directory removed and made again (opaque: its other files are hidden, in no upper name).
        await Sh(sandbox, "echo changed > /etc/template-file && echo new > /etc/added && rm /etc/group && chown 5:5 /etc/passwd"
            + " && mkdir -p /opt/tool && echo x > /opt/tool/f && rm -rf /srv/data && mkdir /srv/data && echo only > /srv/data/a"
            + " && echo mine > /workspace/w && echo tmp > /tmp/t");
        var sinceTemplate = await Client.DiffAsync(sandbox.Id, includeRoot: true);
        var workspaceOnly = await Client.DiffAsync(sandbox.Id);

        AssertRoot(sinceTemplate.Root, ["/etc/added", "/opt", "/opt/tool", "/opt/tool/f"],
            ["/etc/passwd", "/etc/template-file", "/srv/data/a"], ["/etc/group", "/srv/data/b"]);
        Assert.Equal(["w"], sinceTemplate.Added);
        Assert.Null(workspaceOnly.Root);

        var checkpoint = await Client.CreateCheckpointAsync(sandbox.Id, "c1", includeRoot: true);
        await Sh(sandbox, "echo later > /etc/template-file && rm /etc/added && echo y > /etc/later && chmod 600 /srv/data/a");
        var sinceCheckpoint = await Client.DiffAsync(sandbox.Id, "c1", includeRoot: true);
        var undone = await Client.ResetAsync(sandbox.Id, "c1", includeRoot: true);
        var afterReset = await sandbox.ShAsync("cat /etc/template-file /etc/added /srv/data/a; ls /etc/later 2>&1; stat -c '%a %u' /srv/data/a /etc/passwd");
        var clean = await Client.DiffAsync(sandbox.Id, "c1", includeRoot: true);

        Assert.True(checkpoint.Root, "the checkpoint says it holds the root");
        Assert.True(checkpoint.RootFiles > 0 && checkpoint.RootBytes > 0, $"{checkpoint.RootFiles} {checkpoint.RootBytes}");
        AssertRoot(sinceCheckpoint.Root, ["/etc/later"], ["/etc/template-file", "/srv/data/a"], ["/etc/added"]);
        AssertRoot(undone.Root, ["/etc/later"], ["/etc/template-file", "/srv/data/a"], ["/etc/added"]);
        Assert.Equal("changed\nnew\nonly\nls: cannot access '/etc/later': No such file or directory\n644 0\n644 5\n", afterReset.Stdout);
        AssertRoot(clean.Root, [], [], []);

        var toTemplate = await Client.ResetAsync(sandbox.Id, includeRoot: true);
        var asTemplate = await sandbox.ShAsync("cat /etc/template-file /etc/group /srv/data/a /srv/data/b; stat -c '%u' /etc/passwd; ls /opt /etc/added >/dev/null 2>&1 || echo gone");
        var nothingLeft = await Client.DiffAsync(sandbox.Id, includeRoot: true);

        AssertRoot(toTemplate.Root, ["/etc/added", "/opt", "/opt/tool", "/opt/tool/f"],
            ["/etc/passwd", "/etc/template-file", "/srv/data/a"], ["/etc/group", "/srv/data/b"]);
        Assert.Equal(["w"], toTemplate.Added);
        Assert.Equal("from the template\nroot:x:0:\nuser:x:1000:\na\nb\n0\ngone\n", asTemplate.Stdout);
        AssertRoot(nothingLeft.Root, [], [], []);
    }

    [Fact]
    public async Task AResetOfTheRoot_ReplacesALinkTheSandboxPlanted_AndNeverWritesThroughIt()
    {
        var victim = Directory.CreateTempSubdirectory("hutch-root-victim-");
        try
        {
            var template = MakeTemplate();
            await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name, User: "root"));
            await Client.CreateCheckpointAsync(sandbox.Id, "before", includeRoot: true);
            // From the host, the link would lead into the victim directory if anything followed it.
            await Sh(sandbox, $"rm -rf /srv/data && ln -s {victim.FullName} /srv/data && ln -sf {victim.FullName}/planted /etc/template-file");
            await Client.CreateCheckpointAsync(sandbox.Id, "linked", includeRoot: true);

            var undone = await Client.ResetAsync(sandbox.Id, "before", includeRoot: true);
            var after = await sandbox.ShAsync("cat /srv/data/a /srv/data/b /etc/template-file; stat -c %F /srv/data");

            // A symlink where a directory was is one change (its type), not a deletion of what was in it.
            AssertRoot(undone.Root, [], ["/etc/template-file", "/srv/data"], []);
            Assert.Equal("a\nb\nfrom the template\ndirectory\n", after.Stdout);
            Assert.Empty(victim.EnumerateFileSystemInfos());
            var back = await Client.ResetAsync(sandbox.Id, "linked", includeRoot: true);
            var links = await sandbox.ShAsync("stat -c %F /srv/data /etc/template-file");
            Assert.Equal("symbolic link\nsymbolic link\n", links.Stdout);
            Assert.Empty(victim.EnumerateFileSystemInfos());
        }
        finally
        {
            victim.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task IncludeRoot_OnTheHostsRoot_OrAgainstACheckpointWithoutIt_IsAClearError()
    {
        await using var hostRoot = await fixture.CreateAsync(new CreateSandboxRequest());
        var template = MakeTemplate();
        await using var fromTemplate = await fixture.CreateAsync(new CreateSandboxRequest(Template: template.Name));
        await Client.CreateCheckpointAsync(fromTemplate.Id, "workspace-only");

        var notWritable = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateCheckpointAsync(hostRoot.Id, "c", includeRoot: true));
        var diffNotWritable = await Assert.ThrowsAsync<HutchApiException>(() => Client.DiffAsync(hostRoot.Id, includeRoot: true));
        var withoutRoot = await Assert.ThrowsAsync<HutchApiException>(() => Client.ResetAsync(fromTemplate.Id, "workspace-only", includeRoot: true));
        var list = await Client.ListCheckpointsAsync(hostRoot.Id);

        Assert.Equal((400, ErrorCodes.RootNotWritable), (notWritable.Status, notWritable.Code));
        Assert.Equal((400, ErrorCodes.RootNotWritable), (diffNotWritable.Status, diffNotWritable.Code));
        Assert.Equal((409, ErrorCodes.CheckpointWithoutRoot), (withoutRoot.Status, withoutRoot.Code));
        Assert.Contains("workspace-only", withoutRoot.Message);
        Assert.Empty(list);
    }
}
