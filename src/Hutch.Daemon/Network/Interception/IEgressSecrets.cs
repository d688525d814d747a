using System.Security.Cryptography.X509Certificates;

namespace Hutch.Daemon.Network.Interception;

/// <summary>
/// What the egress proxy needs of the secret store to swap placeholders for values (Secrets/
/// answers; Network/ never reads a secret itself): which placeholders a sandbox's connection to a
/// host carries, and a server certificate for that host from the sandbox's own CA.
/// </summary>
public interface IEgressSecrets
{
    /// <summary>The sandbox's placeholders for secrets whose hosts include <paramref name="host"/>:<paramref name="port"/>; null when none (the connection is relayed untouched).</summary>
    SubstitutionTable? For(string sandboxId, string host, int port);

    /// <summary>A server certificate (with its key) for <paramref name="host"/>, issued by the sandbox's CA.</summary>
    X509Certificate2 CertificateFor(string sandboxId, string host);
}

/// <summary>One secret as substitution sees it: the placeholder the sandbox holds, the value it stands for, and where in a request it is swapped.</summary>
public sealed record Substitution(string Secret, string Placeholder, byte[] Value, bool InHeaders = true, bool InQuery = false, bool InBody = false);
