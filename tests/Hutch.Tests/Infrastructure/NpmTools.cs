namespace Hutch.Tests.Infrastructure;

/// <summary>The npm tools the tests run with node (eng/npm-tools: redocly, an OpenAPI client generator, the MCP TypeScript SDK).</summary>
public static class NpmTools
{
    /// <summary>eng/ensure-deps.sh's ensure_npm_tools: installs the lock file's tools into artifacts/npm-tools once, and says where.</summary>
    public static async Task<string> DirectoryAsync()
    {
        var root = TestPaths.RepoRoot;
        var install = await ToolProcess.RunAsync("bash", ["-c", "source eng/ensure-deps.sh && ensure_npm_tools \"$PWD\""], root, TimeSpan.FromMinutes(5));
        Assert.True(install.Code == 0, install.Describe("ensure_npm_tools"));
        return install.Stdout.Trim();
    }
}
