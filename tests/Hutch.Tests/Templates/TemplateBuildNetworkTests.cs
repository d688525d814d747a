using System.Formats.Tar;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hutch.Tests.Templates;

/// <summary>
/// Issue #14's build, for real: a Dockerfile whose steps apt-get install a Debian package and pip
/// install a Python package from the package indexes this "host" is configured with, under the
/// build's default network (the package-registries preset). The indexes are the tests' own
/// (<see cref="PackageIndexFixture"/>: a flat apt repository and a PEP 503 index, served from a
/// network namespace the fixture made, of packages made here); no real registry is named or reached.
/// The base is the Debian minbase with python3-pip that eng/test.sh makes once with `hutch template
/// debian --include python3-pip --save` (about 70 s and 250 MB, kept in /var/cache/hutch-tests):
/// HUTCH_TEST_DEBIAN_PYTHON_ROOTFS.
/// </summary>
public sealed class TemplateBuildNetworkTests(PackageIndexFixture fixture, ITestOutputHelper output) : IClassFixture<PackageIndexFixture>
{
    private HutchClient Client => fixture.Client;

    /// <summary>
    /// The build's default preset, plus the tests' network opened on a port nothing uses: the
    /// upstream's address is private, and a registry on a private address needs its network opened
    /// by the operator and asked for (docs/network.md), as a local mirror would.
    /// </summary>
    private static readonly NetworkPolicy Network = new(NetworkModes.Allowlist, ["net:test:9"], Preset: NetworkPresets.PackageRegistries);

    private static string NewName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..8];

    private static MemoryStream Context(string dockerfile)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "Dockerfile")
            {
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes(dockerfile)),
                Mode = (UnixFileMode)0b110_100_100,
            });
        }
        tar.Position = 0;
        return tar;
    }

    /// <summary>Builds, streaming the events (and the steps' output to the test's log); a failed build fails the test with its error.</summary>
    private async Task<(List<TemplateBuildEvent> Events, BuildFinishedEvent Finished)> BuildAsync(string dockerfile, string name)
    {
        var events = new List<TemplateBuildEvent>();
        try
        {
            await foreach (var e in Client.BuildTemplateAsync(Context(dockerfile), new TemplateBuildOptions(name, Network: Network)))
            {
                events.Add(e);
                switch (e)
                {
                    case BuildStepEvent step:
                        output.WriteLine($"Step {step.Step}/{step.Of}: {step.Instruction}");
                        break;
                    case BuildOutputEvent chunk:
                        output.WriteLine(Encoding.UTF8.GetString(chunk.Data.Span).TrimEnd('\n'));
                        break;
                    case BuildNetworkEvent network:
                        output.WriteLine($"network (step {network.Step}): {network.Event.Outcome} {network.Event.Message}");
                        break;
                }
            }
        }
        catch (HutchApiException e)
        {
            Assert.Fail($"the build failed ({e.Code}): {e.Message}");
        }
        return (events, Assert.IsType<BuildFinishedEvent>(events[^1]));
    }

    [Fact]
    public async Task ADockerfile_AptGetInstallsAndPipInstallsFromTheHostsIndexes_SandboxesUseBoth_AndChangingTheLastStepRerunsOnlyIt()
    {
        var up = fixture.Upstreams;
        up.Publish("/debian/", TestPackages.AptRepository(("hutch-hello", TestPackages.Deb("hutch-hello", "hello from apt"))));
        var wheel = TestPackages.WheelFile("hutchdemo", "1.0");
        up.Publish("/simple/", new Dictionary<string, byte[]> { ["hutchdemo/"] = TestPackages.SimpleIndexPage($"/packages/{wheel}", wheel) });
        up.Publish("/packages/", new Dictionary<string, byte[]> { [wheel] = TestPackages.Wheel("hutchdemo", "1.0", "def greet():\n    return 'hello from pip'\n") });
        var from = await fixture.PythonBaseAsync();
        // The base's own sources.list names the mirror it was made from: replaced, so apt asks ours only.
        string Dockerfile(string last) => $"""
            FROM {from}
            RUN echo 'deb [trusted=yes] {PackageIndexFixture.AptUri} ./' > /etc/apt/sources.list && rm -f /etc/apt/sources.list.d/* \
                && apt-get update && apt-get install -y --no-install-recommends hutch-hello
            RUN pip install --break-system-packages --no-cache-dir --index-url {PackageIndexFixture.PipIndex} --trusted-host {PackageIndexFixture.PipHost} hutchdemo
            RUN echo '{last}' > /etc/hutch-last
            """;
        up.ForgetRequests();

        var first = await BuildAsync(Dockerfile("first"), NewName("app"));
        var seenFirst = up.HttpRequestsSeen;
        up.ForgetRequests();
        var second = await BuildAsync(Dockerfile("second"), NewName("app"));
        var seenSecond = up.HttpRequestsSeen;
        await using var user = await fixture.CreateAsync(new CreateSandboxRequest(Template: first.Finished.Template.Name));
        await using var root = await fixture.CreateAsync(new CreateSandboxRequest(Template: first.Finished.Template.Name, User: "root"));
        await using var changed = await fixture.CreateAsync(new CreateSandboxRequest(Template: second.Finished.Template.Name));
        const string Use = "hutch-hello && python3 -c 'import hutchdemo; print(hutchdemo.greet())' && cat /etc/hutch-last";
        var byUser = await user.ShAsync(Use);
        var byRoot = await root.ShAsync(Use + " && dpkg -s hutch-hello | grep Status && pip show hutchdemo 2>/dev/null | grep -E '^(Name|Version)'");
        var afterChange = await changed.ShAsync(Use);

        // Every step ran once; the change reran only the last step, and nothing was fetched again.
        Assert.Equal((3, 0), (first.Finished.StepsRun, first.Finished.StepsCached));
        Assert.Equal((1, 2), (second.Finished.StepsRun, second.Finished.StepsCached));
        Assert.Equal([2, 3], second.Events.OfType<BuildCachedEvent>().Select(c => c.Step));
        Assert.DoesNotContain(second.Events, e => e is BuildOutputEvent o && o.Step != 4);
        Assert.DoesNotContain(second.Events, e => e is BuildNetworkEvent);
        Assert.Empty(seenSecond);
        // The sandboxes use both packages, the user as well as root.
        Assert.True(byUser.ExitCode == 0, byUser.Stdout + byUser.Stderr);
        Assert.Equal("hello from apt\nhello from pip\nfirst\n", byUser.Stdout);
        Assert.True(byRoot.ExitCode == 0, byRoot.Stdout + byRoot.Stderr);
        Assert.Equal("hello from apt\nhello from pip\nfirst\nStatus: install ok installed\nName: hutchdemo\nVersion: 1.0\n", byRoot.Stdout);
        Assert.Equal("hello from apt\nhello from pip\nsecond\n", afterChange.Stdout);
        // The build reached the two hosts its preset stands for, each from its own step, and nothing else:
        // no refusal, no other name, not the mirror the base was made from.
        var network = first.Events.OfType<BuildNetworkEvent>().ToList();
        Assert.All(network, n => Assert.True(n.Event.Outcome == NetworkOutcomes.Allowed && n.Event.Port == EgressUpstreams.HttpPort,
            $"step {n.Step}: {n.Event.Outcome} {n.Event.Message}"));
        Assert.Equal([(2, PackageIndexFixture.AptHost), (3, PackageIndexFixture.PipHost)], network.Select(n => (n.Step, n.Event.Host!)).Distinct());
        Assert.All(network, n => Assert.Equal($"package-registries ({n.Event.Host}:{EgressUpstreams.HttpPort})", n.Event.Rule));
        // And the upstream saw it so: the index and the package of each, asked for by those names.
        var apt = $"{PackageIndexFixture.AptHost}:{EgressUpstreams.HttpPort}";
        var pip = $"{PackageIndexFixture.PipHost}:{EgressUpstreams.HttpPort}";
        Assert.All(seenFirst, r => Assert.Contains(r.Host, new[] { apt, pip }));
        Assert.Contains(seenFirst, r => (r.Host, r.Method, r.Target.Replace("/./", "/", StringComparison.Ordinal)) == (apt, "GET", "/debian/Packages"));
        Assert.Contains(seenFirst, r => (r.Host, r.Method, r.Target.Replace("/./", "/", StringComparison.Ordinal)) == (apt, "GET", "/debian/hutch-hello_1.0_all.deb"));
        Assert.Contains(seenFirst, r => (r.Host, r.Method, r.Target) == (pip, "GET", "/simple/hutchdemo/"));
        Assert.Contains(seenFirst, r => (r.Host, r.Method, r.Target) == (pip, "GET", $"/packages/{wheel}"));
    }

    [Fact]
    public async Task AStepThatAsksAHostThePresetDoesNotName_Fails_AndTheBuildAndTheCliSayWhichHostWasRefused()
    {
        var from = await fixture.PythonBaseAsync();
        var name = NewName("app");
        var dockerfile = $"""
            FROM {from}
            RUN pip install --break-system-packages --no-cache-dir --retries 0 --index-url http://elsewhere.test:{EgressUpstreams.HttpPort}/simple/ --trusted-host elsewhere.test hutchdemo
            """;
        fixture.Upstreams.ForgetRequests();

        var events = new List<TemplateBuildEvent>();
        var failed = await Assert.ThrowsAsync<HutchApiException>(async () =>
        {
            await foreach (var e in Client.BuildTemplateAsync(Context(dockerfile), new TemplateBuildOptions(name, Network: Network)))
            {
                events.Add(e);
            }
        });

        Assert.Equal((ErrorCodes.BuildStepFailed, 422), (failed.Code, failed.Status));
        var refused = Assert.Single(events.OfType<BuildNetworkEvent>(), n => n.Event.Host == "elsewhere.test").Event;
        Assert.Equal((NetworkOutcomes.Refused, "egress_denied_host", EgressUpstreams.HttpPort), (refused.Outcome, refused.Code, refused.Port));
        Assert.Contains("not in this sandbox's allowlist", refused.Message, StringComparison.Ordinal);
        Assert.All(events.OfType<BuildNetworkEvent>(), n => Assert.Equal(2, n.Step));
        Assert.Empty(fixture.Upstreams.HttpRequestsSeen);
        Assert.DoesNotContain(await Client.ListTemplatesAsync(), t => t.Name == name);

        // The CLI prints the refusal next to pip's own error, as hutch exec does.
        var dir = TestPaths.NewTempDir("hutch-build");
        try
        {
            await File.WriteAllTextAsync(Path.Join(dir, "Dockerfile"), dockerfile);
            var cli = await CliProcess.RunAsync(fixture, dir, null, "template", "build", ".", "--name", NewName("cli"), "--allow", "net:test:9", "--preset", NetworkPresets.PackageRegistries);

            Assert.True(cli.Code != 0, cli.Stderr);
            Assert.Contains($"hutch: network: elsewhere.test:{EgressUpstreams.HttpPort} refused: elsewhere.test is not in this sandbox's allowlist", cli.Stderr, StringComparison.Ordinal);
            Assert.Contains("(egress_denied_host)\n", cli.Stderr, StringComparison.Ordinal);
            Assert.Contains(ErrorCodes.BuildStepFailed, cli.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
