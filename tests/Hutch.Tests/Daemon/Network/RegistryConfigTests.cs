using System.Diagnostics;
using Hutch.Daemon.Network.Presets;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon.Network;

/// <summary>Reading apt, pip and npm configuration for the package-registries preset: the forms each tool reads, and never a credential.</summary>
[Trait("Category", "Unit")]
public sealed class RegistryConfigTests : IDisposable
{
    private readonly string _root = TestPaths.NewTempDir("hutch-registry");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Join(_root, path))!);
        File.WriteAllText(Path.Join(_root, path), text);
    }

    [Fact]
    public void Apt_ReadsOneLineAndDeb822Sources_AsAptDoes()
    {
        Write("etc/apt/sources.list", "# deb http://commented.test/ x main\ndeb [arch=amd64 signed-by=/k.gpg] https://a.test/debian bookworm main\ndeb-src http://b.test:8081/debian bookworm main # note\n");
        Write("etc/apt/sources.list.d/c.sources", "Types: deb\nURIs: http://c.test/debian http://d.test/debian\nSuites: bookworm\n\nEnabled: no\nURIs: http://off.test/\n");
        Write("etc/apt/sources.list.d/e.list.disabled-by-farm", "deb http://e.test/ x main\n");

        Assert.Equal(["https://a.test/debian", "http://b.test:8081/debian", "http://c.test/debian", "http://d.test/debian"],
            RegistryConfig.Apt(_root).Select(s => s.Url.ToString()));
    }

    [Fact]
    public void Apt_OnThisHost_AgreesWithAptItself()
    {
        using var apt = Process.Start(new ProcessStartInfo("apt-get", ["indextargets", "--format", "$(REPO_URI)"]) { RedirectStandardOutput = true })!;
        var expected = apt.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(u => u.TrimEnd('/')).Distinct().Order();
        apt.WaitForExit();

        Assert.Equal(expected, RegistryConfig.Apt("/").Select(s => s.Url.ToString().TrimEnd('/')).Distinct().Order());
    }

    [Fact]
    public void Pip_ReadsTheVariablesAndItsFiles_WithContinuationLines()
    {
        Write("etc/pip.conf", "[global]\ncert = /x.pem\nfind-links = /opt/wheels\n[install]\nextra-index-url =\n    https://x.test/simple\n    https://user:pw@y.test:8443/simple\n");
        var env = new Dictionary<string, string> { ["PIP_INDEX_URL"] = "https://env.test/simple" };

        Assert.Equal(["https://env.test/simple", "https://x.test/simple", "https://y.test:8443/simple"],
            RegistryConfig.Pip(_root, "root", v => env.GetValueOrDefault(v)).Select(s => s.Url.ToString()));
    }

    [Fact]
    public void Npm_ReadsRegistryAndScopedRegistries_NeverTokens()
    {
        Write("root/.npmrc", "registry=https://npm.test/\n@corp:registry=https://corp.test/npm/\n//npm.test/:_authToken=secret\ncafile=/x.pem\n");

        var sources = RegistryConfig.Npm(_root, "root", _ => null).ToList();

        Assert.Equal(["https://npm.test/", "https://corp.test/npm/"], sources.Select(s => s.Url.ToString()));
        Assert.DoesNotContain(sources, s => s.ToString().Contains("secret", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("/opt/wheels")]
    [InlineData("file:///opt/wheels")]
    [InlineData("ftp://x.test/")]
    [InlineData("")]
    public void NonHttpUrls_AreNoRegistries(string text) => Assert.Null(RegistryConfig.Parse(text));
}
