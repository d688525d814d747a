using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Hutch.Daemon.Network;
using Hutch.Daemon.Network.Interception;
using Hutch.Runtime.Oci;

namespace Hutch.Daemon.Secrets;

/// <summary>
/// The placeholder kind (docs/secrets.md): a sandbox holds a random placeholder instead of the value,
/// and the egress proxy swaps it for the value only inside TLS to the secret's hosts, which it
/// terminates with the sandbox's own CA. This keeps each sandbox's placeholders and CA, writes its
/// trust directory (bound at /etc/ssl/hutch) before a command that needs it runs, tells commands
/// where it is, and answers the proxy (<see cref="IEgressSecrets"/>).
/// </summary>
public sealed class SandboxPlaceholders(SecretStore store, SandboxPaths paths, TimeProvider time) : IEgressSecrets
{
    /// <summary>The bundle (the host's CAs and the sandbox's) and the sandbox's CA alone, as the sandbox sees them.</summary>
    public const string BundleFile = "ca-certificates.crt";
    public const string CaFile = "egress-ca.crt";
    public const string WgetrcFile = "wgetrc";

    private static readonly string Bundle = $"{HostCaStore.SandboxTrustDir}/{BundleFile}";

    /// <summary>
    /// Where TLS clients read trust from (measured per client in design 0010 section 2: no one
    /// variable does). The replacing ones get the whole bundle, so every other host still verifies.
    /// </summary>
    public static IReadOnlyDictionary<string, string> TrustVariables { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["SSL_CERT_FILE"] = Bundle,
        ["CURL_CA_BUNDLE"] = Bundle,
        ["REQUESTS_CA_BUNDLE"] = Bundle,
        ["PIP_CERT"] = Bundle,
        ["GIT_SSL_CAINFO"] = Bundle,
        ["AWS_CA_BUNDLE"] = Bundle,
        ["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = Bundle,
        ["NODE_EXTRA_CA_CERTS"] = $"{HostCaStore.SandboxTrustDir}/{CaFile}",
        ["WGETRC"] = $"{HostCaStore.SandboxTrustDir}/{WgetrcFile}",
    };

    private readonly ConcurrentDictionary<string, SandboxCa> _cas = new();
    private readonly ConcurrentDictionary<string, (long Generation, (string Name, string Placeholder, PolicyEntry[] Hosts, string[] Where)[] Uses)> _tables = new();

    /// <summary>The sandbox's placeholder for a secret (made on first use).</summary>
    public string PlaceholderOf(string sandboxId, string name) => store.PlaceholderOf(sandboxId, name);

    /// <summary>
    /// Before a command that holds a placeholder starts: the sandbox has its CA, and its trust
    /// directory holds the certificates (each written by rename, so a reader never sees half of one).
    /// </summary>
    public void Prepare(string sandboxId)
    {
        var ca = CaOf(sandboxId, create: true)!;
        _tables.TryRemove(sandboxId, out _);
        var dir = paths.Trust(sandboxId);
        if (File.Exists(Path.Join(dir, BundleFile)))
        {
            return;
        }
        var pem = ca.CertificatePem;
        var host = HostCaStore.Find() is { } store ? File.ReadAllText(Path.Join(store, HostCaStore.Bundle)) : "";
        WritePublic(dir, CaFile, pem);
        WritePublic(dir, WgetrcFile, $"ca_certificate = {Bundle}\n");
        WritePublic(dir, BundleFile, host + (host.EndsWith('\n') || host.Length == 0 ? "" : "\n") + pem);
    }

    /// <summary>The sandbox is gone: its CA leaves memory (the store's rows go with its uses).</summary>
    public void Forget(string sandboxId)
    {
        _tables.TryRemove(sandboxId, out _);
        if (_cas.TryRemove(sandboxId, out var ca))
        {
            ca.Dispose();
        }
    }

    public SubstitutionTable? For(string sandboxId, string host, int port)
    {
        var generation = store.Generation;
        if (!_tables.TryGetValue(sandboxId, out var table) || table.Generation != generation)
        {
            var uses = store.PlaceholderNamesOf(sandboxId).Select(name =>
            {
                var info = store.Find(name); // one read for hosts and substitute
                return (name, store.PlaceholderOf(sandboxId, name), SecretStore.HostEntries(info), info?.Substitute ?? []);
            }).ToArray();
            _tables[sandboxId] = table = (generation, uses);
        }
        var items = new List<Substitution>();
        foreach (var (name, placeholder, hosts, where) in table.Uses)
        {
            if (hosts.Any(h => h.MatchesName(host) && h.CoversPort(port)) && store.TryOpen(name) is { } value)
            {
                items.Add(new Substitution(name, placeholder, value, where.Contains(SecretSubstitutions.Header), where.Contains(SecretSubstitutions.Query),
                    where.Contains(SecretSubstitutions.Body)));
            }
        }
        return items.Count == 0 ? null : new SubstitutionTable(items);
    }

    public X509Certificate2 CertificateFor(string sandboxId, string host) =>
        (CaOf(sandboxId, create: false) ?? throw new InvalidOperationException($"sandbox {sandboxId} has no egress CA")).LeafFor(host, time.GetUtcNow());

    private SandboxCa? CaOf(string sandboxId, bool create)
    {
        if (_cas.TryGetValue(sandboxId, out var ca))
        {
            return ca;
        }
        var kept = store.CaOf(sandboxId);
        if (kept is null)
        {
            if (!create)
            {
                return null;
            }
            var made = SandboxCa.Create(sandboxId, time.GetUtcNow());
            kept = store.KeepCa(sandboxId, made.CertificatePem, made.Key); // the first kept wins a race
            Array.Clear(made.Key);
        }
        var (pem, key) = kept.Value;
        try
        {
            return _cas.GetOrAdd(sandboxId, _ => SandboxCa.Load(pem, key));
        }
        finally
        {
            Array.Clear(key);
        }
    }

    private static void WritePublic(string dir, string name, string text)
    {
        var temporary = Path.Join(dir, "." + name + ".tmp");
        File.WriteAllText(temporary, text);
        File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        File.Move(temporary, Path.Join(dir, name), overwrite: true);
    }
}
