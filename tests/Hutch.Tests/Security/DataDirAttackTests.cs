using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// Hutch's data dir must stay traversable for sandboxes (their root, workspace and agent are reached
/// through it), so any local user can try every name in it: each file the daemon writes must be root's
/// alone, and env values given at create must not be kept once their sandbox is gone.
/// </summary>
[Collection(DaemonCollection.Name)]
public class DataDirAttackTests(DaemonFixture fixture)
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = Private | UnixFileMode.UserExecute;
    private const UnixFileMode TraverseOnly = PrivateDirectory | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task EveryFileTheDaemonWrites_IsRootsAlone_AndEnvValuesAreGoneWithTheirSandbox()
    {
        var secret = $"env-value-{Guid.NewGuid():N}";
        var sandbox = await Client.CreateSandboxAsync(new CreateSandboxRequest(Env: new() { ["TOKEN"] = secret }));
        Assert.Equal(secret + "\n", (await Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "echo $TOKEN"))).Stdout);
        await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(Command: "echo started; sleep 100"));
        await Client.CreateServiceAsync(sandbox.Id, new CreateServiceRequest("svc", Command: "sleep 100", Env: new() { ["SVC"] = "x" }));

        var exposed = DaemonEntries().Where(e => !Expected(e)).Select(e => $"{e.UnixFileMode} {e.FullName}").ToList();
        Assert.True(exposed.Count == 0, "readable by others:\n" + string.Join("\n", exposed));

        await Client.DeleteSandboxAsync(sandbox.Id);

        var holders = Directory.EnumerateFiles(fixture.DataDir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(f => !f.StartsWith(Path.Join(fixture.DataDir, "workspaces"), StringComparison.Ordinal) && Contains(f, secret)).ToList();
        Assert.True(holders.Count == 0, "the env value is still kept in: " + string.Join(", ", holders));
    }

    /// <summary>
    /// Everything in the data dir but what sandboxes must read: their root, /etc, agent, workspaces,
    /// trust directories (certificates only: SecretEgressTests checks no key is there), runc's own
    /// state, templates' layers and roots (a root's files are the template's; the templates
    /// directory itself is checked below to be root's alone), bundles' blobs and trees (read-only,
    /// mounted into sandboxes; the store above them stays 0700) and the sandboxes' bundle mount points.
    /// </summary>
    private IEnumerable<FileSystemInfo> DaemonEntries()
    {
        string[] sandboxesRead = ["rootfs", "etc", "workspaces", "runc", "trust", Path.Join("bin", "hutch-agent"), Path.Join("templates", "layers"),
            Path.Join("templates", "skeleton"), "roots", Path.Join("bundles", "store", "blobs"), Path.Join("bundles", "store", "trees"), "bundle-mounts"];
        return new DirectoryInfo(fixture.DataDir)
            .EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(e => !sandboxesRead.Any(p => e.FullName == Path.Join(fixture.DataDir, p) || e.FullName.StartsWith(Path.Join(fixture.DataDir, p) + "/", StringComparison.Ordinal)))
            .Where(e => e.LinkTarget is null)
            .Prepend(new DirectoryInfo(fixture.DataDir));
    }

    private bool Expected(FileSystemInfo entry)
    {
        if (entry is FileInfo)
        {
            // 0400: content written once and never changed (artifact blobs).
            return entry.UnixFileMode is Private or UnixFileMode.UserRead;
        }
        string[] traversed = [fixture.DataDir, Path.Join(fixture.DataDir, "sandboxes"), Path.Join(fixture.DataDir, "bin")];
        return entry.UnixFileMode == PrivateDirectory || (entry.UnixFileMode == TraverseOnly && traversed.Contains(entry.FullName));
    }

    private static bool Contains(string file, string text)
    {
        try
        {
            return File.ReadAllBytes(file).AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
        }
        catch (IOException)
        {
            return false; // a socket
        }
    }
}
