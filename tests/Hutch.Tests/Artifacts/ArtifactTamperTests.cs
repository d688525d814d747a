using System.Net;
using System.Security.Cryptography;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Artifacts;

/// <summary>
/// A manifest edited in the local store while no daemon runs: the next daemon starts, refuses it
/// (logs artifact_manifest_invalid, leaves it as it found it, removes nothing by it), and every read
/// of the set that believes the manifest (a link, a session's restore, a cleanup) is refused too.
/// The store's own refusal is LocalArtifactStoreTests' and S3ArtifactStoreTests'.
/// </summary>
public sealed class ArtifactTamperTests
{
    [Fact]
    public async Task AManifestEditedWhileTheDaemonIsDown_IsRefusedAtRestart_AndByLinksRestoresAndCleanup()
    {
        await using var daemon = await KillableDaemon.StartAsync("hutch-at", new Dictionary<string, string>());
        var session = "tamper-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var spec = new ArtifactSpec(["out/**"], session);
        var sandbox = await daemon.Client.CreateSandboxAsync(new CreateSandboxRequest(Artifacts: spec));
        var result = await daemon.Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "mkdir -p out && echo 'a,b' > out/a.csv"));
        var link = Assert.Single(result.Artifacts!).Url!;
        await daemon.Client.DeleteSandboxAsync(sandbox.Id);

        daemon.Kill();
        var manifestFile = Path.Join(daemon.DataDir, "artifacts", "sets", $"session:{session}", "manifest.json");
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(await File.ReadAllBytesAsync(manifestFile)).Replace("out/a.csv", "out/b.csv", StringComparison.Ordinal));
        File.SetUnixFileMode(manifestFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllBytesAsync(manifestFile, tampered);
        await daemon.RestartAsync();

        using var anonymous = new HttpClient();
        using var download = await anonymous.GetAsync(link);
        var cleanup = await Assert.ThrowsAsync<HutchApiException>(() => daemon.Client.DeleteArtifactSetAsync($"session:{session}"));
        var restore = await Assert.ThrowsAsync<HutchApiException>(() => daemon.Client.CreateSandboxAsync(new CreateSandboxRequest(Artifacts: spec)));

        Assert.Contains("artifact_manifest_invalid", daemon.Log, StringComparison.Ordinal);
        Assert.Equal(tampered, await File.ReadAllBytesAsync(manifestFile));   // refused, not written over from the registry
        Assert.True(File.Exists(Path.Join(daemon.DataDir, "artifacts", "sets", $"session:{session}", "files", "out", "a.csv")), "a file was removed by a manifest that does not verify");
        Assert.Equal(HttpStatusCode.Conflict, download.StatusCode);
        Assert.Contains("artifact_manifest_invalid", await download.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal((409, ErrorCodes.ArtifactManifestInvalid), (restore.Status, restore.Code));
        Assert.Equal((409, ErrorCodes.ArtifactManifestInvalid), (cleanup.Status, cleanup.Code));
    }
}
