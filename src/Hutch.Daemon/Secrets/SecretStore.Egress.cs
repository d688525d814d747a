using System.Security.Cryptography;

namespace Hutch.Daemon.Secrets;

/// <summary>
/// What the placeholder kind keeps per sandbox: each secret's placeholder (it is in the sandbox's
/// environment anyway, so it is stored as it is) and the sandbox's CA (its certificate, and its key
/// sealed under the store's key: a restarted daemon must sign with the CA the sandbox's programs
/// already trust).
/// </summary>
public sealed partial class SecretStore
{
    /// <summary>The sandbox's placeholder for a secret: the one it has, or a new one recorded now.</summary>
    public string PlaceholderOf(string sandboxId, string name)
    {
        using var db = Connect();
        using var tx = db.BeginTransaction();
        Run(db, tx, "INSERT OR IGNORE INTO secret_placeholders (sandbox_id, name, placeholder) VALUES ($id, $name, $placeholder)",
            ("$id", sandboxId), ("$name", name), ("$placeholder", NewPlaceholder()));
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT placeholder FROM secret_placeholders WHERE sandbox_id = $id AND name = $name";
        cmd.Parameters.AddWithValue("$id", sandboxId);
        cmd.Parameters.AddWithValue("$name", name);
        var placeholder = (string)cmd.ExecuteScalar()!;
        tx.Commit();
        return placeholder;
    }

    /// <summary>
    /// <c>hutchph_</c> and 32 random base32 characters (160 bits): worthless anywhere but in a request
    /// to the secret's hosts from this sandbox, and never mistaken for ordinary text.
    /// </summary>
    private static string NewPlaceholder()
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        return "hutchph_" + string.Concat(RandomNumberGenerator.GetBytes(32).Select(b => alphabet[b & 31]));
    }

    /// <summary>The sandbox's CA as stored (certificate PEM, PKCS#8 key), or null when it has none yet.</summary>
    public (string CertificatePem, byte[] Key)? CaOf(string sandboxId)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT cert_pem, key_id, nonce, ciphertext, tag FROM sandbox_ca WHERE sandbox_id = $id";
        cmd.Parameters.AddWithValue("$id", sandboxId);
        using var reader = cmd.ExecuteReader();
        return reader.Read()
            ? (reader.GetString(0), _cipher.Open(CaKeyName(sandboxId), 0, new SealedValue((byte[])reader[1], (byte[])reader[2], (byte[])reader[3], (byte[])reader[4])))
            : null;
    }

    /// <summary>Keeps a sandbox's new CA, unless one was kept first (then that one is returned, so every caller signs with the same).</summary>
    public (string CertificatePem, byte[] Key) KeepCa(string sandboxId, string certificatePem, byte[] key)
    {
        var sealedKey = _cipher.Seal(CaKeyName(sandboxId), 0, key);
        using (var db = Connect())
        using (var tx = db.BeginTransaction())
        {
            Run(db, tx, "INSERT OR IGNORE INTO sandbox_ca (sandbox_id, cert_pem, key_id, nonce, ciphertext, tag) VALUES ($id, $pem, $keyId, $nonce, $ciphertext, $tag)",
                ("$id", sandboxId), ("$pem", certificatePem), ("$keyId", sealedKey.KeyId), ("$nonce", sealedKey.Nonce),
                ("$ciphertext", sealedKey.Ciphertext), ("$tag", sealedKey.Tag));
            tx.Commit();
        }
        return CaOf(sandboxId)!.Value;
    }

    /// <summary>The associated data of a CA key: no secret's name has a '/', so no value's row opens as a key or the other way round.</summary>
    private static string CaKeyName(string sandboxId) => "ca/" + sandboxId;

    /// <summary>The secrets a sandbox holds as placeholders, in any scope.</summary>
    public string[] PlaceholderNamesOf(string sandboxId) => NamesOf(sandboxId, $"kind = '{SecretKinds.Placeholder}'");

    /// <summary>The secrets whose real values a sandbox holds (as variables or files), in any scope: what its agent redacts.</summary>
    public string[] NamesHeldBy(string sandboxId) => NamesOf(sandboxId, $"kind <> '{SecretKinds.Placeholder}'");

    private string[] NamesOf(string sandboxId, string kindTest)
    {
        using var db = Connect();
        return Strings(db, null, $"SELECT DISTINCT name FROM secret_uses WHERE sandbox_id = $p AND {kindTest}", sandboxId);
    }

    /// <summary>A secret's hosts as policy entries (empty when it was deleted, or has none).</summary>
    public Network.PolicyEntry[] HostsOf(string name) => HostEntries(Find(name));

    /// <summary>The hosts of a secret as it was read (none for null: a secret deleted meanwhile).</summary>
    public static Network.PolicyEntry[] HostEntries(SecretInfo? info) =>
        [.. (info?.Hosts ?? []).Select(h => Network.PolicyEntryParser.Parse(h, allowOpenNetworks: false, out _)).OfType<Network.PolicyEntry>()];

    /// <summary>A secret's metadata, or null when no secret has that name.</summary>
    public SecretInfo? Find(string name)
    {
        try
        {
            return Get(name);
        }
        catch (HutchException e) when (e.Code == ErrorCodes.SecretNotFound)
        {
            return null;
        }
    }
}
