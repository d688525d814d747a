using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Hutch.Tests.Infrastructure;

/// <summary>
/// Real upstream servers for the egress tests (docs/design/0009-egress.md section 4), in a network
/// namespace of their own that only a veth pair joins to the host: 10.213.N.1 (host side) and
/// 10.213.N.2 (upstream side) on a /30, fd68:7574:7465:N::1 and ::2 on a /64. The namespace has no
/// default route and the host forwards nothing, so whatever reaches these servers came from the host
/// network namespace over that veth, which is where the daemon's egress proxy connects from. The
/// servers are sockets created inside the namespace and served by this process (HTTP on
/// <see cref="HttpPort"/>, a banner-then-echo TCP server on <see cref="TcpPort"/>, HTTPS with a
/// throwaway CA on <see cref="HttpsPort"/>), and every connection they accept is in <see cref="RequestsSeen"/>.
/// Usable as a class or collection fixture; each instance has its own namespace and N.
/// </summary>
public sealed partial class EgressUpstreams : IAsyncLifetime
{
    public const string HostName = "upstream.test";
    public const int HttpPort = 8080;
    public const int TcpPort = 7000;
    public const int HttpsPort = 8443;

    /// <summary>The line the TCP server writes before reading anything.</summary>
    public const string Banner = "hello from upstream\n";

    private readonly string id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4));
    private UpstreamServers? servers;
    private FileStream? subnetLock;
    private bool networkCreated;
    private string? tempDir;

    /// <summary>The namespace the servers live in: <c>hutch-t-XXXXXXXX</c>.</summary>
    public string Namespace => $"hutch-t-{id}";

    /// <summary>The veth end on the host, <c>htXXXXXXXX-h</c> (IFNAMSIZ allows 15 characters).</summary>
    public string HostInterface => $"ht{id}-h";

    /// <summary>The veth end in <see cref="Namespace"/>, <c>htXXXXXXXX-u</c>.</summary>
    public string UpstreamInterface => $"ht{id}-u";

    /// <summary>N of 10.213.N.0/30: the third octet, unique among the fixtures alive on this host.</summary>
    public int Subnet { get; private set; } = -1;

    /// <summary>The upstream servers' IPv4 address, 10.213.N.2.</summary>
    public IPAddress Address => IPAddress.Parse($"10.213.{Subnet}.2");

    /// <summary>The upstream servers' IPv6 address, fd68:7574:7465:N::2.</summary>
    public IPAddress AddressV6 => IPAddress.Parse($"fd68:7574:7465:{Subnet}::2");

    /// <summary>10.213.N.1: an address of the host itself, which egress must refuse even with the network opened.</summary>
    public IPAddress HostSideAddress => IPAddress.Parse($"10.213.{Subnet}.1");

    /// <summary>fd68:7574:7465:N::1, the host's own IPv6 address on the veth.</summary>
    public IPAddress HostSideAddressV6 => IPAddress.Parse($"fd68:7574:7465:{Subnet}::1");

    /// <summary>The veth's IPv4 network, for <c>HUTCH_EGRESS_OPEN_NETWORKS=test=…</c>.</summary>
    public string Cidr => $"10.213.{Subnet}.0/30";

    /// <summary>The veth's IPv6 network.</summary>
    public string CidrV6 => $"fd68:7574:7465:{Subnet}::/64";

    /// <summary>A hosts-file line naming the upstream, for <c>HUTCH_EGRESS_HOSTS_FILE</c>.</summary>
    public string HostsFileLine => $"{Address} {HostName}";

    /// <summary>The test CA (public part), which signed the HTTPS server's certificate.</summary>
    public X509Certificate2 Ca { get; private set; } = null!;

    /// <summary>The test CA as a PEM file, for <c>SSL_CERT_FILE</c> or <c>curl --cacert</c>.</summary>
    public string CaCertPath { get; private set; } = "";

    /// <summary>How long <see cref="InitializeAsync"/> took.</summary>
    public TimeSpan StartTime { get; private set; }

    /// <summary>Every connection any of the servers accepted (a snapshot), oldest first.</summary>
    public IReadOnlyList<UpstreamConnection> RequestsSeen => servers?.Connections ?? [];

    /// <summary>Every HTTP(S) request head the servers read (a snapshot), oldest first.</summary>
    public IReadOnlyList<UpstreamHttpRequest> HttpRequestsSeen => servers?.Requests ?? [];

    /// <summary>Clears <see cref="RequestsSeen"/> and <see cref="HttpRequestsSeen"/>, for a test that shares the fixture.</summary>
    public void ForgetRequests() => servers?.Forget();

    /// <summary>Serves static files under a path prefix on the HTTP and HTTPS ports (see <see cref="UpstreamServers.Publish"/>).</summary>
    public void Publish(string prefix, IReadOnlyDictionary<string, byte[]> content) => servers!.Publish(prefix, content);

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        try
        {
            await ClaimSubnetAsync();
            // The certificates while ip works: the first ones of a process take ~100 ms (OpenSSL, JIT).
            var certificates = Task.Run(() => UpstreamCertificates.Create(HostName, [Address, AddressV6]));
            await CreateNetworkAsync();
            (var ca, var leaf) = await certificates;
            Ca = ca;
            tempDir = TestPaths.NewTempDir("hutch-t-upstream");
            CaCertPath = Path.Join(tempDir, "ca.pem");
            await File.WriteAllTextAsync(CaCertPath, ca.ExportCertificatePem());

            servers = new UpstreamServers(SslStreamCertificateContext.Create(leaf, additionalCertificates: null, offline: true));
            var families = new[] { AddressFamily.InterNetwork, AddressFamily.InterNetworkV6 };
            var ports = new[] { (HttpPort, UpstreamServer.Http), (TcpPort, UpstreamServer.Tcp), (HttpsPort, UpstreamServer.Https) };
            var sockets = await NamespaceSockets.CreateAsync($"/run/netns/{Namespace}", [.. ports.SelectMany(_ => families)]);
            var next = 0;
            foreach (var (port, server) in ports)
            {
                foreach (var address in new[] { Address, AddressV6 })
                {
                    servers.Serve(sockets[next++], new IPEndPoint(address, port), server);
                }
            }
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
        StartTime = clock.Elapsed;
    }

    /// <summary>
    /// True when <paramref name="certificate"/> chains to the test CA alone (not to the system's roots)
    /// and the name the client asked for matched: a real check for an <c>RemoteCertificateValidationCallback</c>.
    /// </summary>
    public bool TrustsTestCa(X509Certificate? certificate, SslPolicyErrors errors)
    {
        // A chain error is expected (the CA is in no system store); a name mismatch or no certificate is not.
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (servers is not null)
            {
                var stopping = servers;
                servers = null;
                await stopping.DisposeAsync();
            }
        }
        finally
        {
            // Even when a server would not stop: the namespace and the veth never outlive the fixture.
            await DeleteNetworkAsync();
            if (tempDir is not null)
            {
                Directory.Delete(tempDir, recursive: true);
                tempDir = null;
            }
        }
    }
}
