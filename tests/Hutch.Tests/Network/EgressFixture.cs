using Hutch.Daemon;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Network;

/// <summary>
/// A daemon whose operator opened the test network (HUTCH_EGRESS_OPEN_NETWORKS=test=…) and the real
/// upstream servers in a network namespace of their own (<see cref="EgressUpstreams"/>): the only
/// place egress tests send traffic to. A subclass may name the upstream by more names
/// (<see cref="MoreHostNames"/>) and configure this "host"'s package registries otherwise
/// (<see cref="WriteRegistryConfig"/>).
/// </summary>
public class EgressFixture : DaemonFixture
{
    public EgressUpstreams Upstreams { get; } = new();

    public override async Task InitializeAsync()
    {
        await Upstreams.InitializeAsync();
        await base.InitializeAsync();
    }

    /// <summary>The operator's name overrides: upstream.test is the upstream's address.</summary>
    public string HostsFile { get; } = Path.Join(TestPaths.NewTempDir("hutch-hosts"), "hosts");

    protected override HutchOptions Configure(HutchOptions options)
    {
        // Names an attacker would point at what must stay out of reach, as a rebinding resolver would.
        File.WriteAllText(HostsFile, Upstreams.HostsFileLine + "\n" + $"{Upstreams.AddressV6} {EgressUpstreams.HostName}\n"
            + "127.0.0.1 rebind-loopback.test\n169.254.169.254 rebind-metadata.test\n"
            + $"{Upstreams.HostSideAddress} rebind-host.test\n"
            + $"{Upstreams.Address} fronted.test\n" // a second name on the upstream, for domain fronting
            + string.Concat(MoreHostNames.Select(name => $"{Upstreams.Address} {name}\n")));
        WriteRegistryConfig();
        return options with
        {
            EgressOpenNetworks = $"test={Upstreams.Cidr},{Upstreams.CidrV6}",
            EgressHostsFile = HostsFile,
            EgressRegistryConfigRoot = RegistryConfigRoot,
            // The daemon opens TLS to the upstream itself for secrets' placeholders: it must trust the test CA.
            EgressCaFile = Upstreams.CaCertPath,
        };
    }

    /// <summary>A directory standing for the host's / where the package-registries preset reads apt, pip and npm configuration.</summary>
    public string RegistryConfigRoot { get; } = TestPaths.NewTempDir("hutch-registry-config");

    /// <summary>More names of the upstream's IPv4 address in <see cref="HostsFile"/>.</summary>
    protected virtual IEnumerable<string> MoreHostNames => [];

    /// <summary>The registries this "host" is configured with: all on the upstream, plus what the preset must not take.</summary>
    protected virtual void WriteRegistryConfig()
    {
        var name = EgressUpstreams.HostName;
        Directory.CreateDirectory(Path.Join(RegistryConfigRoot, "etc/apt/sources.list.d"));
        File.WriteAllText(Path.Join(RegistryConfigRoot, "etc/apt/sources.list.d/test.sources"), $"""
            Types: deb
            URIs: http://{name}:{EgressUpstreams.HttpPort}/debian
            Suites: bookworm
            Components: main

            Enabled: no
            Types: deb
            URIs: http://disabled.test/debian
            Suites: bookworm

            """);
        File.WriteAllText(Path.Join(RegistryConfigRoot, "etc/apt/sources.list.d/old.list.disabled"), "deb http://ignored.test/debian bookworm main\n");
        File.WriteAllText(Path.Join(RegistryConfigRoot, "etc/pip.conf"),
            $"[global]\ncert = /etc/ssl/certs/ca-certificates.crt\nindex-url = https://{name}:{EgressUpstreams.HttpsPort}/simple/\n");
        File.WriteAllText(Path.Join(RegistryConfigRoot, "etc/npmrc"), $"registry=https://token-user:token-secret@{name}:{EgressUpstreams.HttpsPort}/npm/\n"
            + $"//{name}:{EgressUpstreams.HttpsPort}/npm/:_authToken=npm-secret-token\n");
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Upstreams.DisposeAsync();
        Directory.Delete(Path.GetDirectoryName(HostsFile)!, recursive: true);
        Directory.Delete(RegistryConfigRoot, recursive: true);
    }
}
