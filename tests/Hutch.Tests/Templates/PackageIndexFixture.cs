using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Hutch.Tests.Network;

namespace Hutch.Tests.Templates;

/// <summary>
/// The egress fixture (a daemon, and real upstream servers in a network namespace of the test's
/// own) as a host whose apt and pip use package indexes of their own: apt.hutch.test and
/// pypi.hutch.test, two names of the upstream (through HUTCH_EGRESS_HOSTS_FILE), named in this
/// "host"'s /etc/apt/sources.list and /etc/pip.conf (under HUTCH_EGRESS_REGISTRY_CONFIG_ROOT). So the
/// package-registries preset a build takes by default stands for exactly those two, on the
/// upstream's HTTP port; a test publishes what they serve.
/// </summary>
public sealed class PackageIndexFixture : EgressFixture
{
    public const string AptHost = "apt.hutch.test";
    public const string PipHost = "pypi.hutch.test";

    /// <summary>The apt repository's URI (a flat one: <c>deb [trusted=yes] URI ./</c>), served from the upstream's /debian/.</summary>
    public static string AptUri => $"http://{AptHost}:{EgressUpstreams.HttpPort}/debian";

    /// <summary>The pip index (PEP 503), served from the upstream's /simple/.</summary>
    public static string PipIndex => $"http://{PipHost}:{EgressUpstreams.HttpPort}/simple/";

    protected override IEnumerable<string> MoreHostNames => [AptHost, PipHost];

    private readonly SemaphoreSlim _importing = new(1, 1);
    private string? _pythonBase;

    /// <summary>
    /// The Debian base with python3-pip (<see cref="TestPackages.DebianPythonRootfs"/>) as a template
    /// of this daemon, imported on first use (a few seconds): its NAME:VERSION.
    /// </summary>
    public async Task<string> PythonBaseAsync()
    {
        await _importing.WaitAsync();
        try
        {
            if (_pythonBase is null)
            {
                var name = "debpy" + Guid.NewGuid().ToString("N")[..8];
                await using var rootfs = File.OpenRead(TestPackages.DebianPythonRootfs);
                var t = await Client.ImportTemplateAsync(rootfs, name, "1", rootfs: true);
                _pythonBase = $"{t.Name}:{t.Version}";
            }
            return _pythonBase;
        }
        finally
        {
            _importing.Release();
        }
    }

    protected override void WriteRegistryConfig()
    {
        Directory.CreateDirectory(Path.Join(RegistryConfigRoot, "etc/apt"));
        File.WriteAllText(Path.Join(RegistryConfigRoot, "etc/apt/sources.list"), $"deb [trusted=yes] {AptUri} ./\n");
        File.WriteAllText(Path.Join(RegistryConfigRoot, "etc/pip.conf"), $"[global]\nindex-url = {PipIndex}\ntrusted-host = {PipHost}\n");
    }
}
