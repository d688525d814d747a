using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Templates;

/// <summary>
/// A Debian base made on this host (`hutch template debian --save`, which eng/test.sh runs once
/// and keeps: HUTCH_TEST_DEBIAN_ROOTFS), imported as a root file system: root installs a package at
/// run time with dpkg, in that sandbox only. No network: the package is built here with dpkg-deb.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class DebianTemplateTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task RootInstallsAPackage_WithDpkgAndApt_SeenInThatSandboxOnly()
    {
        var name = "deb" + Guid.NewGuid().ToString("N")[..8];
        await using (var tar = File.OpenRead(TestPackages.DebianRootfs))
        {
            var imported = await Client.ImportTemplateAsync(tar, name, "1", rootfs: true);
            Assert.Equal(("rootfs", 1), (imported.Source, imported.Layers));
        }
        await using var installer = await fixture.CreateAsync(new CreateSandboxRequest(Template: name, User: "root"));
        await using var neighbour = await fixture.CreateAsync(new CreateSandboxRequest(Template: name, User: "root"));
        await using var user = await fixture.CreateAsync(new CreateSandboxRequest(Template: name));
        var package = TestPackages.Deb();
        await Client.WriteBytesAsync(installer.Id, "hello.deb", package);
        await Client.WriteBytesAsync(user.Id, "hello.deb", package);

        var install = await installer.ShAsync("dpkg -i /workspace/hello.deb >/dev/null && hutch-hello && dpkg -s hutch-hello | grep Status", timeoutMs: 60_000);
        var apt = await installer.ShAsync("apt-get remove -y hutch-hello >/dev/null && ! command -v hutch-hello && apt-get install -y /workspace/hello.deb >/dev/null 2>&1; hutch-hello",
            timeoutMs: 60_000);
        var elsewhere = await neighbour.ShAsync("command -v hutch-hello; dpkg -s hutch-hello 2>&1 | head -1");
        var notRoot = await user.ShAsync("dpkg -i /workspace/hello.deb");

        Assert.True(install.ExitCode == 0, install.Stdout + install.Stderr);
        Assert.Equal("hello from a package\nStatus: install ok installed\n", install.Stdout);
        Assert.Equal("hello from a package\n", apt.Stdout);
        Assert.Contains("is not installed", elsewhere.Stdout);
        Assert.NotEqual(0, notRoot.ExitCode);
        Assert.Contains("superuser", notRoot.Stderr + notRoot.Stdout);
    }

    [Fact]
    public async Task ADockerfileFromTheDebianBase_InstallsAPackageAndMakesAUser_InItsLayers()
    {
        var from = "deb" + Guid.NewGuid().ToString("N")[..8];
        await using (var tar = File.OpenRead(TestPackages.DebianRootfs))
        {
            await Client.ImportTemplateAsync(tar, from, "1", rootfs: true);
        }
        var name = "debb" + Guid.NewGuid().ToString("N")[..8];
        var context = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(context, leaveOpen: true))
        {
            void Add(string path, byte[] bytes) => writer.WriteEntry(new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, path)
            {
                DataStream = new MemoryStream(bytes),
                Mode = (UnixFileMode)0b110_100_100,
            });
            Add("hello.deb", TestPackages.Deb());
            Add("Dockerfile", System.Text.Encoding.UTF8.GetBytes($"""
                FROM {from}:1
                COPY hello.deb /opt/
                RUN dpkg -i /opt/hello.deb && rm /opt/hello.deb
                RUN useradd -u 1000 -m app
                USER app
                RUN id -un > /home/app/whoami
                """));
        }
        context.Position = 0;

        BuildFinishedEvent? finished = null;
        await foreach (var e in Client.BuildTemplateAsync(context, new TemplateBuildOptions(name, Network: new NetworkPolicy(NetworkModes.None))))
        {
            finished = e as BuildFinishedEvent ?? finished;
        }
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(Template: name));
        var seen = await sandbox.ShAsync("hutch-hello; cat /home/app/whoami; ls /opt | wc -l; id -un");

        Assert.Equal((4, 5), (finished!.StepsRun, finished.Template.Layers));
        Assert.Equal("hello from a package\napp\n0\napp\n", seen.Stdout);
    }
}
