using System.Text.Json.Nodes;
using Hutch.Runtime.Oci;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Runtime;

/// <summary>The generated /etc's alternatives and CA store, on fake host directories.</summary>
[Trait("Category", "Unit")]
public sealed class SandboxEtcTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("hutch-etc");

    private string HostAlternatives => Path.Join(_dir, "host-alternatives");
    private string Etc => Path.Join(_dir, "etc");
    private string Ours(string name) => Path.Join(Etc, "alternatives", name);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static bool UsrOrBin(string path) => RootfsLayout.IsVisibleInside(path, ["bin"]);

    private void HostLink(string name, string target) => File.CreateSymbolicLink(Path.Join(HostAlternatives, name), target);

    [Fact]
    public void Alternatives_AreMirrored_OnlyWhereTheirTargetsAreInsideTheSandbox()
    {
        Directory.CreateDirectory(HostAlternatives);
        HostLink("awk", "/usr/bin/mawk");
        HostLink("sh-ish", "/bin/dash");
        HostLink("relative", "../../../usr/bin/vim.basic"); // from /tmp/hutch-etc-*/host-alternatives
        HostLink("relative-out", "../elsewhere");
        HostLink("fpc.cfg", "/etc/fpc-3.2.2.cfg");
        HostLink("escape", "/usr/../etc/shadow");
        HostLink("java", "/opt/jdk/bin/java");
        File.WriteAllText(Path.Join(HostAlternatives, "README"), "not a link");

        EtcAlternatives.Mirror(HostAlternatives, Etc, UsrOrBin);

        var names = Directory.EnumerateFileSystemEntries(Path.Join(Etc, "alternatives")).Select(Path.GetFileName).Order();
        Assert.Equal(["awk", "relative", "sh-ish"], names);
        Assert.Equal("/usr/bin/mawk", new FileInfo(Ours("awk")).LinkTarget);
        Assert.Equal("/bin/dash", new FileInfo(Ours("sh-ish")).LinkTarget);
        // Written absolute: the relative form would resolve against the sandbox's /etc/alternatives.
        Assert.Equal("/usr/bin/vim.basic", new FileInfo(Ours("relative")).LinkTarget);
    }

    [Fact]
    public void Alternatives_FollowTheHost_WhenLinksAreRetargetedOrRemoved()
    {
        Directory.CreateDirectory(HostAlternatives);
        HostLink("awk", "/usr/bin/mawk");
        HostLink("pager", "/usr/bin/less");
        HostLink("jdk", "/usr/lib/jvm/java-17");
        EtcAlternatives.Mirror(HostAlternatives, Etc, UsrOrBin);

        File.Delete(Path.Join(HostAlternatives, "awk"));
        HostLink("awk", "/usr/bin/gawk");
        File.Delete(Path.Join(HostAlternatives, "pager"));
        File.Delete(Path.Join(HostAlternatives, "jdk"));
        EtcAlternatives.Mirror(HostAlternatives, Etc, UsrOrBin);

        Assert.Equal(["awk"], Directory.EnumerateFileSystemEntries(Path.Join(Etc, "alternatives")).Select(Path.GetFileName));
        Assert.Equal("/usr/bin/gawk", new FileInfo(Ours("awk")).LinkTarget);
    }

    [Fact]
    public void Alternatives_AreEmpty_WhenTheHostHasNone() // e.g. a host that is not Debian
    {
        EtcAlternatives.Mirror(HostAlternatives, Etc, UsrOrBin);

        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Join(Etc, "alternatives")));
    }

    [Fact]
    public void CaStore_IsFound_OnlyAsARealDirectoryWithItsBundle()
    {
        var certs = Path.Join(_dir, "certs");
        Directory.CreateDirectory(certs);
        Assert.Null(HostCaStore.Find(certs));

        File.WriteAllText(Path.Join(certs, HostCaStore.Bundle), "-----BEGIN CERTIFICATE-----\n");
        Assert.Equal(certs, HostCaStore.Find(certs));

        // Another layout's link (Fedora's /etc/ssl/certs → /etc/pki/tls/certs) is not followed.
        var linked = Path.Join(_dir, "linked-certs");
        Directory.CreateSymbolicLink(linked, certs);
        Assert.Null(HostCaStore.Find(linked));
        Assert.Null(HostCaStore.Find(Path.Join(_dir, "missing")));
    }

    [Fact]
    public void TheBundle_BindsTheCaStoreReadOnly_AfterEtc_AndNothingElseOfTheHostsSsl()
    {
        var spec = new SandboxSpec("sb-test", "/data/rootfs", "/data/etc", "/data/bin/agent", "/data/ws", 1_000_000, 1000, 1 << 28, 64, 1, 1 << 26)
        {
            CaStoreDir = "/etc/ssl/certs",
        };

        var mounts = OciSpecBuilder.Build(spec)["mounts"]!.AsArray().Select(m => m!.AsObject()).ToList();

        var destinations = mounts.Select(m => (string)m["destination"]!).ToList();
        var ca = mounts.Single(m => (string)m["destination"]! == "/etc/ssl/certs");
        Assert.True(destinations.IndexOf("/etc/ssl/certs") > destinations.IndexOf("/etc"), "the CA store is mounted onto /etc's mount point, after /etc");
        Assert.Equal("/etc/ssl/certs", (string)ca["source"]!);
        Assert.Equal(["bind", "ro", "nosuid", "nodev", "noexec"], ca["options"]!.AsArray().Select(o => (string)o!));
        Assert.DoesNotContain(mounts, m => ((string)m["source"]!).StartsWith("/etc/ssl/private", StringComparison.Ordinal) || (string)m["source"]! == "/etc/ssl");

        var without = OciSpecBuilder.Build(spec with { CaStoreDir = null })["mounts"]!.AsArray();
        Assert.DoesNotContain(without, m => (string)m!["destination"]! == "/etc/ssl/certs");
    }

    [Fact]
    public void TheLayout_GivesEtcItsStockFiles_AndTheCaStoresMountPoint()
    {
        RootfsLayout.Ensure(Path.Join(_dir, "rootfs"), Etc);

        foreach (var file in new[] { "passwd", "group", "hosts", "protocols", "services", "ssl/openssl.cnf" })
        {
            Assert.Equal((UnixFileMode)0b110_100_100, File.GetUnixFileMode(Path.Join(Etc, file)));
        }
        Assert.Contains("tcp\t6\tTCP", File.ReadAllText(Path.Join(Etc, "protocols")));
        Assert.Contains("https\t\t443/tcp", File.ReadAllText(Path.Join(Etc, "services")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Join(Etc, "ssl", "certs")));
        Assert.False(Path.Exists(Path.Join(Etc, "ssl", "private")));
    }
}
