using System.Security.Cryptography;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Secrets;

/// <summary>
/// Secrets given to a sandbox as files in /run/secrets, through the real daemon and runc: the
/// file holds the exact value (checked by its hash inside, since reading it back is redacted), is
/// the user's and read-only, lives in a tmpfs (never the host's disk), follows rotations, and a link
/// planted at its name is replaced, never written through.
/// </summary>
public sealed class SecretFileTests(DaemonFixture fixture) : IClassFixture<DaemonFixture>
{
    private HutchClient Client => fixture.Client;

    private static string Sha256(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    [Fact]
    public async Task TheFile_HoldsTheValue_ReadOnlyForTheUser_InMemory_AndReadingItBackIsRedacted()
    {
        var value = TestSecrets.Value("file");
        var name = await TestSecrets.StoreAsync(Client, value);
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Secrets: [new SecretUse(name, SecretKinds.File)]));

        var hash = await sandbox.ShAsync($"sha256sum < /run/secrets/{name} | cut -d' ' -f1");
        var mode = await sandbox.ShAsync($"stat -c '%a %U' /run/secrets/{name}; stat -c '%a %U' /run/secrets");
        var mount = await sandbox.ShAsync("awk '$5 == \"/run/secrets\" { print $9 }' /proc/self/mountinfo");
        var cat = await sandbox.ShAsync($"cat /run/secrets/{name}; echo; echo \"${{{name}:-no variable}}\"");
        var write = await sandbox.ShAsync($"echo x > /run/secrets/{name}");
        var info = await Client.GetSandboxAsync(sandbox.Id);

        Assert.Equal(Sha256(value) + "\n", hash.Stdout);
        Assert.Equal("400 user\n700 user\n", mode.Stdout);
        Assert.Equal("tmpfs\n", mount.Stdout);
        Assert.Equal($"[REDACTED:{name}]\nno variable\n", cat.Stdout);
        Assert.NotEqual(0, write.ExitCode);
        Assert.Equal([new SecretUseInfo(name, SecretKinds.File, null, name)], info.Secrets!);
        Assert.Empty(HostInspector.FilesHolding(fixture.DataDir, value));
    }

    [Fact]
    public async Task ARotation_RewritesTheFile_InARunningSandbox()
    {
        var name = await TestSecrets.StoreAsync(Client, TestSecrets.Value("old"));
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Secrets: [new SecretUse(name, SecretKinds.File, File: "key.txt")]));
        var newer = TestSecrets.Value("new");

        await Client.RotateSecretAsync(name, new RotateSecretRequest(newer));
        var hash = await sandbox.ShAsync("sha256sum < /run/secrets/key.txt | cut -d' ' -f1; ls -A /run/secrets");

        Assert.Equal($"{Sha256(newer)}\nkey.txt\n", hash.Stdout);
    }

    [Fact]
    public async Task AProcessGetsItsOwnFile_AndALinkPlantedAtItsName_IsReplacedNotFollowed()
    {
        var value = TestSecrets.Value("proc");
        var name = await TestSecrets.StoreAsync(Client, value);
        await using var sandbox = await fixture.CreateAsync();
        // The sandbox's code owns /run/secrets too (the agent writes as its user): it plants links at the name.
        await sandbox.ShAsync("ln -s /workspace/leak /run/secrets/planted; ln -s /home/user/other /run/secrets/.new-x");

        var process = await Client.StartProcessAsync(sandbox.Id, new StartProcessRequest(
            Command: "sha256sum < /run/secrets/planted | cut -d' ' -f1", Secrets: [new SecretUse(name, SecretKinds.File, File: "planted")]));
        await Client.WaitProcessAsync(sandbox.Id, process.Id);
        var logs = await Client.ReadProcessLogsAsync(sandbox.Id, process.Id);
        var after = await sandbox.ShAsync("test -L /run/secrets/planted && echo link; test -e /workspace/leak && echo leaked; stat -c %a /run/secrets/planted");

        Assert.Equal(Sha256(value) + "\n", logs.Stdout);
        Assert.Equal("400\n", after.Stdout);
        Assert.Equal([sandbox.Id], (await Client.GetSecretAsync(name)).UsedBy!);
    }

    [Fact]
    public async Task AValueThatIsNotText_CanBeAFile_ButNotAVariable()
    {
        var bytes = new byte[] { 0, 1, 2, 0xff, 0xfe, 10, 0, 42, 7, 9, 0x80, 0 };
        var name = await TestSecrets.StoreAsync(Client, new CreateSecretRequest(ValueBase64: Convert.ToBase64String(bytes)));

        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Secrets: [new SecretUse(name, SecretKinds.File)]));
        var hash = await sandbox.ShAsync($"sha256sum < /run/secrets/{name} | cut -d' ' -f1");
        var asEnv = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(Secrets: [new SecretUse(name)])));

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)) + "\n", hash.Stdout);
        Assert.Equal(ErrorCodes.InvalidSecret, asEnv.Code);
    }

    [Fact]
    public async Task BadFileUses_AreRefused_NamingTheField()
    {
        var name = await TestSecrets.StoreAsync(Client, TestSecrets.Value("bad"));
        var before = (await Client.ListSandboxesAsync()).Count;

        async Task<HutchApiException> Refused(params SecretUse[] uses) =>
            await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateSandboxAsync(new CreateSandboxRequest(Secrets: uses)));

        var dotdot = await Refused(new SecretUse(name, SecretKinds.File, File: ".."));
        var slash = await Refused(new SecretUse(name, SecretKinds.File, File: "a/b"));
        var envOnFile = await Refused(new SecretUse(name, SecretKinds.File, Env: "X"));
        var fileOnEnv = await Refused(new SecretUse(name, File: "x"));
        var twice = await Refused(new SecretUse(name, SecretKinds.File, File: "k"), new SecretUse(name, SecretKinds.File, File: "k"));

        Assert.Equal((ErrorCodes.InvalidSecret, 400), (dotdot.Code, dotdot.Status));
        Assert.Contains("secrets[0].file", dotdot.Message, StringComparison.Ordinal);
        Assert.Contains("secrets[0].file", slash.Message, StringComparison.Ordinal);
        Assert.Contains("secrets[0].env", envOnFile.Message, StringComparison.Ordinal);
        Assert.Contains("secrets[0].file", fileOnEnv.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCodes.SecretEnvConflict, twice.Code);
        Assert.Contains("secrets[1].file", twice.Message, StringComparison.Ordinal);
        Assert.Equal(before, (await Client.ListSandboxesAsync()).Count);
    }
}
