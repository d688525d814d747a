using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Hutch.Daemon.Secrets;

/// <summary>
/// A sandbox's own certificate authority, for the TLS the egress proxy terminates on a secret's
/// hosts: P-256 (a key in about a millisecond; RSA-2048 takes hundreds), valid a year, its key in the
/// daemon's memory and sealed in the store, never inside the sandbox. Leaf certificates for each
/// host are issued on first use and kept (7 days, renewed a day before they end).
/// </summary>
public sealed class SandboxCa : IDisposable
{
    private static readonly TimeSpan LeafLife = TimeSpan.FromDays(7);
    private readonly X509Certificate2 _ca;
    private readonly ConcurrentDictionary<string, X509Certificate2> _leaves = new(StringComparer.Ordinal);

    private SandboxCa(X509Certificate2 ca) => _ca = ca;

    /// <summary>The CA certificate, PEM: what the sandbox's trust store adds.</summary>
    public string CertificatePem => _ca.ExportCertificatePem();

    /// <summary>A new CA for a sandbox, and its key (PKCS#8) to keep.</summary>
    public static (string CertificatePem, byte[] Key) Create(string sandboxId, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=Hutch egress CA for sandbox {sandboxId}, O=Hutch", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        using var ca = request.CreateSelfSigned(now.AddHours(-1), now.AddYears(1));
        return (ca.ExportCertificatePem(), key.ExportPkcs8PrivateKey());
    }

    public static SandboxCa Load(string certificatePem, byte[] key)
    {
        using var ecdsa = ECDsa.Create();
        ecdsa.ImportPkcs8PrivateKey(key, out _);
        using var certificate = X509Certificate2.CreateFromPem(certificatePem);
        return new SandboxCa(certificate.CopyWithPrivateKey(ecdsa));
    }

    /// <summary>A server certificate for <paramref name="host"/>, with its key.</summary>
    public X509Certificate2 LeafFor(string host, DateTimeOffset now)
    {
        if (_leaves.TryGetValue(host, out var leaf) && leaf.NotAfter > now.AddDays(1).UtcDateTime)
        {
            return leaf;
        }
        leaf = Issue(host, now);
        _leaves[host] = leaf;
        return leaf;
    }

    private X509Certificate2 Issue(string host, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={host}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(host);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_ca, true, false));
        var notAfter = now.Add(LeafLife) < _ca.NotAfter ? now.Add(LeafLife) : new DateTimeOffset(_ca.NotAfter);
        using var issued = request.Create(_ca, now.AddHours(-1), notAfter, SerialNumber());
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>16 random bytes, positive as DER reads them.</summary>
    private static byte[] SerialNumber()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        return serial;
    }

    public void Dispose()
    {
        foreach (var leaf in _leaves.Values)
        {
            leaf.Dispose();
        }
        _ca.Dispose();
    }
}
