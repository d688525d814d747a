using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Hutch.Tests.Infrastructure;

/// <summary>
/// A throwaway test CA and one server certificate it signed, made in memory at fixture start. ECDSA
/// P-256 keys: generating one takes well under a millisecond where RSA takes tens. The extensions are
/// the ones strict verifiers insist on (Python 3.13's default VERIFY_X509_STRICT, OpenSSL 3): a
/// critical basicConstraints on the CA, key identifiers on both, a subjectAltName on the leaf.
/// </summary>
public static class UpstreamCertificates
{
    /// <summary>The CA (public part only is ever written out) and a leaf for <paramref name="dnsName"/> and <paramref name="addresses"/>, with its private key.</summary>
    public static (X509Certificate2 Ca, X509Certificate2 Leaf) Create(string dnsName, IEnumerable<IPAddress> addresses)
    {
        // A little slack backwards for clocks of other namespaces' clients; a day is longer than any run.
        var notBefore = DateTimeOffset.UtcNow.AddHours(-1);
        var notAfter = DateTimeOffset.UtcNow.AddDays(1);

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Hutch test upstream CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false));
        var ca = caRequest.CreateSelfSigned(notBefore, notAfter);

        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest($"CN={dnsName}", leafKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName(dnsName);
        foreach (var address in addresses)
        {
            names.AddIpAddress(address);
        }
        leafRequest.CertificateExtensions.Add(names.Build(critical: false));
        leafRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false)); // serverAuth
        leafRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(leafRequest.PublicKey, critical: false));
        leafRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01); // positive and 16 bytes long: RFC 5280 section 4.1.2.2
        using var signed = leafRequest.Create(ca, notBefore, notAfter, serial);
        return (ca, signed.CopyWithPrivateKey(leafKey));
    }
}
