using System.Text.Json;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Network;

/// <summary>
/// The package-registries preset and the clients agents use most, for real: pip installs a package
/// from the index this "host" is configured with (the fixture's registry config points at the
/// upstream), requests and git clone over HTTPS through the proxy variables, and what the preset
/// does not name stays refused. Real upstreams in the fixture's namespace only.
/// </summary>
public sealed class EgressClientsTests(EgressFixture fixture) : IClassFixture<EgressFixture>
{
    private const string Name = EgressUpstreams.HostName;
    private static readonly string Index = $"https://{Name}:{EgressUpstreams.HttpsPort}/simple/";

    private HutchClient Client => fixture.Client;
    private EgressUpstreams Up => fixture.Upstreams;

    private static string Shown(ExecResult r) => $"exit {r.ExitCode}: {r.Stdout}{r.Stderr}";

    [Fact]
    public async Task ThePreset_IsWhatTheHostsAptPipAndNpmAreConfiguredWith_WithoutCredentials()
    {
        var presets = await Client.ListNetworkPresetsAsync();

        var preset = Assert.Single(presets);
        Assert.Equal(NetworkPresets.PackageRegistries, preset.Name);
        Assert.Equal([$"package-registries ({Name}:{EgressUpstreams.HttpPort})", $"package-registries ({Name}:{EgressUpstreams.HttpsPort})"], preset.Allow);
        Assert.Equal(["apt", "pip", "npm"], preset.Sources.Select(s => s.Tool));
        Assert.Equal($"https://{Name}:{EgressUpstreams.HttpsPort}/npm/", preset.Sources[2].Url);
        var json = JsonSerializer.Serialize(presets, ApiJsonContext.Default.NetworkPresetInfoArray);
        Assert.DoesNotContain("secret", json, StringComparison.Ordinal);
        Assert.DoesNotContain("disabled.test", json, StringComparison.Ordinal);
        Assert.DoesNotContain("ignored.test", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithThePreset_PipInstallsFromTheConfiguredIndex_GitClonesAndRequestsFetch_AndNothingElseIsReached()
    {
        Up.Publish("/simple/", new Dictionary<string, byte[]>
        {
            ["tinypkg/"] = TestPackages.SimpleIndexPage("/packages/tinypkg-0.1-py3-none-any.whl", "tinypkg-0.1-py3-none-any.whl"),
        });
        Up.Publish("/packages/", new Dictionary<string, byte[]> { ["tinypkg-0.1-py3-none-any.whl"] = TestPackages.Wheel("tinypkg", "0.1", "VALUE = 'tiny-ok'\n") });
        Up.Publish("/repo.git/", await BareRepositoryAsync());
        // The preset, and the test network opened on a port nothing uses (upstream.test's address is private).
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(
            Network: new NetworkPolicy(NetworkModes.Allowlist, ["net:test:9"], Preset: NetworkPresets.PackageRegistries)));
        await Client.WriteTextAsync(sandbox.Id, "ca.pem", Up.Ca.ExportCertificatePem());

        var pip = await sandbox.ShAsync(
            $"PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install -q --no-cache-dir --disable-pip-version-check --cert ca.pem --index-url {Index} --target /tmp/pkgs tinypkg "
            + "&& PYTHONPATH=/tmp/pkgs python3 -c 'import tinypkg; print(tinypkg.VALUE)'", timeoutMs: 120_000);
        var download = await sandbox.ShAsync(
            $"python3 -m pip download -q --no-cache-dir --disable-pip-version-check --no-deps --cert ca.pem --index-url {Index} -d /tmp/dl tinypkg && ls /tmp/dl", timeoutMs: 120_000);
        var requests = await sandbox.PythonAsync(
            $"from pip._vendor import requests\nprint(requests.get('https://{Name}:{EgressUpstreams.HttpsPort}/', verify='ca.pem', timeout=5).text, end='')");
        var git = await sandbox.ShAsync($"git -c http.sslCAInfo=/workspace/ca.pem clone -q https://{Name}:{EgressUpstreams.HttpsPort}/repo.git /tmp/repo && cat /tmp/repo/README", timeoutMs: 60_000);
        var otherName = await sandbox.ShAsync("curl -sS --max-time 5 https://elsewhere.test/");
        var otherPort = await sandbox.ShAsync($"curl -sS --max-time 5 -w ' %{{http_code}}' http://{Name}:{EgressUpstreams.TcpPort}/");

        Assert.True(pip.Stdout == "tiny-ok\n", Shown(pip));
        Assert.True(download.Stdout == "tinypkg-0.1-py3-none-any.whl\n", Shown(download));
        Assert.True(requests.Stdout == $"upstream-ok {EgressUpstreams.HttpsPort}\n", Shown(requests));
        Assert.True(git.Stdout == "hello from the test repository\n", Shown(git));
        Assert.Contains("CONNECT tunnel failed, response 403", otherName.Stderr, StringComparison.Ordinal);
        Assert.StartsWith($"egress_port: {Name}:{EgressUpstreams.TcpPort} refused", otherPort.Stdout, StringComparison.Ordinal);
        Assert.EndsWith(" 403", otherPort.Stdout, StringComparison.Ordinal);
        var events = new List<NetworkEvent>();
        await foreach (var e in Client.ReadNetworkEventsAsync(sandbox.Id))
        {
            events.Add(e);
        }
        Assert.Contains(events, e => (e.Outcome, e.Rule) == (NetworkOutcomes.Allowed, $"package-registries ({Name}:{EgressUpstreams.HttpsPort})"));
        Assert.Contains(events, e => (e.Code, e.Host) == ("egress_denied_host", "elsewhere.test"));
    }

    /// <summary>A bare repository with one commit, ready to serve over git's dumb HTTP protocol (static files).</summary>
    private static async Task<Dictionary<string, byte[]>> BareRepositoryAsync()
    {
        var dir = TestPaths.NewTempDir("hutch-git");
        try
        {
            var script = $"""
                set -e
                cd {dir}
                git init -q -b main work
                echo 'hello from the test repository' > work/README
                git -C work add README
                git -C work -c user.email=t@example.org -c user.name=t commit -qm init
                git clone -q --bare work repo.git
                git -C repo.git update-server-info
                """;
            var run = await ToolProcess.RunAsync("sh", ["-c", script], dir, TimeSpan.FromSeconds(30));
            Assert.True(run.Code == 0, run.Stderr);
            var root = Path.Join(dir, "repo.git");
            return Directory.GetFiles(root, "*", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllBytes);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
