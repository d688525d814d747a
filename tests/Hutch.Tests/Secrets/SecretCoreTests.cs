using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Secrets;

/// <summary>
/// A core of a sandbox's agent, taken with gcore from the host while the agent holds a value (an env
/// and a file use, a command and a background process printing it, so its log redaction holds it
/// too), contains no value. The same gcore after the host puts the default coredump_filter back does
/// find it: the check can see a value in a core, and the agent's filter is what keeps it out.
/// </summary>
public sealed class SecretCoreTests(DaemonFixture fixture) : IClassFixture<DaemonFixture>
{
    private const string Name = "CORE_TEST_KEY";
    private static readonly string Value = $"ck-{Guid.NewGuid():N}";

    [Fact]
    public async Task ACoreOfTheAgent_HoldsNoValue()
    {
        await fixture.Client.CreateSecretAsync(new CreateSecretRequest(Name, Value));
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(
            Secrets: [new SecretUse(Name, Env: "KEY"), new SecretUse(Name, As: SecretKinds.File)]));
        var printed = await sandbox.ShAsync($"echo \"$KEY\"; cat /run/secrets/{Name}");
        await fixture.Client.StartProcessAsync(sandbox.Id, "echo \"$KEY\"; sleep 600");
        Assert.Equal($"[REDACTED:{Name}]\n[REDACTED:{Name}]", printed.Stdout);
        var agent = HostInspector.InitPidOf(fixture.DataDir, sandbox.Id);
        var dir = TestPaths.NewTempDir("hutch-core");
        try
        {
            Assert.Equal("00000010", File.ReadAllText($"/proc/{agent}/coredump_filter").Trim());

            var filtered = await CoreOfAsync(agent, Path.Join(dir, "filtered"));
            File.WriteAllText($"/proc/{agent}/coredump_filter", "0x33");
            var whole = await CoreOfAsync(agent, Path.Join(dir, "whole"));

            Assert.False(Holds(filtered, Value), "the agent's core holds the value");
            Assert.True(Holds(whole, Value), "a core of the agent with the default filter should hold the value: the check cannot see one");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            await fixture.Client.DeleteSecretAsync(Name, force: true);
        }
    }

    private static async Task<byte[]> CoreOfAsync(int pid, string prefix)
    {
        var gcore = await ToolProcess.RunAsync("gcore", ["-o", prefix, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], "/", TimeSpan.FromSeconds(60));
        var core = $"{prefix}.{pid}";
        Assert.True(gcore.Code == 0 && File.Exists(core), gcore.Describe("gcore"));
        var bytes = File.ReadAllBytes(core);
        Assert.True(bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0x7f, (byte)'E', (byte)'L', (byte)'F']), "gcore wrote no ELF core");
        return bytes;
    }

    /// <summary>The value as UTF-8 (frames, native copies) or UTF-16 (a .NET string).</summary>
    private static bool Holds(byte[] core, string value) =>
        core.AsSpan().IndexOf(Encoding.UTF8.GetBytes(value)) >= 0 || core.AsSpan().IndexOf(Encoding.Unicode.GetBytes(value)) >= 0;
}
