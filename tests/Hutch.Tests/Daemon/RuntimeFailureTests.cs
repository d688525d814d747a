using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>When the OCI runtime is missing or fails at create, the error names the cause and nothing is left on the host.</summary>
public class RuntimeFailureTests
{
    [Fact]
    public async Task Create_WhenRuntimeIsMissing_Is503AndLeavesNothing()
    {
        var dataDir = TestPaths.NewTempDir("hutch-m");
        try
        {
            await using var engine = await SandboxEngine.OpenInProcessAsync(new HutchOptions { DataDir = dataDir, AgentPath = TestPaths.Agent, Runtime = "/nonexistent/runc" });

            var e = await Assert.ThrowsAsync<HutchException>(() => engine.CreateAsync(new CreateSandboxRequest(Name: "never")));

            Assert.Equal((503, ErrorCodes.RuntimeUnavailable), (e.Status, e.Code));
            Assert.Contains("/nonexistent/runc", e.Message);
            Assert.Contains("apt-get install runc", e.Message);
            Assert.Empty(await engine.ListAsync());
            Assert.Empty(HostInspector.SandboxLeftovers(dataDir));
        }
        finally
        {
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    [Fact]
    public async Task Create_WhenRuncFailsToStartTheInit_Is500WithRuncsMessageAndLeavesNothing()
    {
        var dataDir = TestPaths.NewTempDir("hutch-f");
        // A real runc failure: the init it must exec is not a program.
        var badAgent = Path.Join(dataDir, "not-an-agent");
        await File.WriteAllTextAsync(badAgent, "this is not an executable\n");
        File.SetUnixFileMode(badAgent, (UnixFileMode)0b111_101_101);
        try
        {
            await using var engine = await SandboxEngine.OpenInProcessAsync(new HutchOptions { DataDir = dataDir, AgentPath = badAgent });

            var e = await Assert.ThrowsAsync<HutchException>(() => engine.CreateAsync(new CreateSandboxRequest(Name: "broken")));

            Assert.Equal((500, ErrorCodes.RuntimeFailed), (e.Status, e.Code));
            Assert.Contains("exec format error", e.Message);
            Assert.Empty(await engine.ListAsync());
            Assert.Empty(HostInspector.SandboxLeftovers(dataDir));
            var id = System.Text.RegularExpressions.Regex.Match(e.Message, "sb-[a-z0-9]{10}").Value;
            Assert.NotEmpty(id);
            Assert.Empty(HostInspector.CgroupDirsOf(id));
            // The name is free again: the failed create left no registry row behind.
            var again = await Assert.ThrowsAsync<HutchException>(() => engine.CreateAsync(new CreateSandboxRequest(Name: "broken")));
            Assert.Equal(ErrorCodes.RuntimeFailed, again.Code);
        }
        finally
        {
            TestPaths.DeleteDataDir(dataDir);
        }
    }
}
