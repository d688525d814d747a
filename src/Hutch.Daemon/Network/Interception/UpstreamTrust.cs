using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Hutch.Daemon.Network.Interception;

/// <summary>
/// How the daemon checks a secret's host when it opens TLS to it on a sandbox's behalf: the host's
/// own trust store, plus the CAs of <c>HUTCH_EGRESS_CA_FILE</c> when the operator gives one (a
/// private CA, the tests' upstream). A name that does not match is never accepted: the value would
/// go to whoever answered.
/// </summary>
public sealed class UpstreamTrust(X509Certificate2Collection extra)
{
    public static UpstreamTrust Load(string? caFile)
    {
        var extra = new X509Certificate2Collection();
        if (caFile is not null)
        {
            extra.ImportFromPemFile(caFile);
        }
        return new UpstreamTrust(extra);
    }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (extra.Count == 0 || certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(extra);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            custom.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
        }
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return custom.Build(leaf);
    }
}
