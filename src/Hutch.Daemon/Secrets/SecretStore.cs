using Hutch.Daemon.Registry;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Hutch.Daemon.Secrets;

/// <summary>
/// The write-only secret store (docs/secrets.md): secrets and their versions in two tables of the
/// registry's SQLite file (0600, secure_delete, so a deleted value's pages are overwritten), each
/// version's value sealed by <see cref="SecretCipher"/>. What goes out is metadata only; a value is
/// opened only by <see cref="Open(string, int?)"/>, for the sandboxes that use it (later slices).
/// </summary>
public sealed partial class SecretStore
{
    private readonly string _connectionString;
    private readonly SecretCipher _cipher;
    private readonly TimeProvider _time;

    public SecretStore(string databasePath, SecretCipher cipher, TimeProvider time)
    {
        _connectionString = Sql.ConnectionString(databasePath);
        _cipher = cipher;
        _time = time;
        PrivateFiles.OpenWrite(databasePath, append: true).Dispose();
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS secrets (
                name TEXT PRIMARY KEY,
                description TEXT,
                hosts TEXT NOT NULL,
                created_at TEXT NOT NULL,
                rotated_at TEXT,
                version INTEGER NOT NULL
            );
            CREATE TABLE IF NOT EXISTS secret_versions (
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                created_at TEXT NOT NULL,
                key_id BLOB NOT NULL,
                nonce BLOB NOT NULL,
                ciphertext BLOB NOT NULL,
                tag BLOB NOT NULL,
                PRIMARY KEY (name, version)
            );
            CREATE TABLE IF NOT EXISTS secret_uses (
                sandbox_id TEXT NOT NULL,
                scope TEXT NOT NULL,
                name TEXT NOT NULL,
                kind TEXT NOT NULL,
                env TEXT NOT NULL,
                PRIMARY KEY (sandbox_id, scope, name, env)
            );
            CREATE TABLE IF NOT EXISTS secret_placeholders (
                sandbox_id TEXT NOT NULL,
                name TEXT NOT NULL,
                placeholder TEXT NOT NULL,
                PRIMARY KEY (sandbox_id, name)
            );
            CREATE TABLE IF NOT EXISTS sandbox_ca (
                sandbox_id TEXT PRIMARY KEY,
                cert_pem TEXT NOT NULL,
                key_id BLOB NOT NULL,
                nonce BLOB NOT NULL,
                ciphertext BLOB NOT NULL,
                tag BLOB NOT NULL
            );
            """;
        cmd.ExecuteNonQuery();
        // Added after the first release of the table: where a placeholder is replaced (JSON; null: headers only).
        cmd.CommandText = "SELECT COUNT(*) FROM pragma_table_info('secrets') WHERE name = 'substitute'";
        if ((long)cmd.ExecuteScalar()! == 0)
        {
            cmd.CommandText = "ALTER TABLE secrets ADD COLUMN substitute TEXT";
            cmd.ExecuteNonQuery();
        }
    }

    public SecretInfo Create(CreateSecretRequest request)
    {
        var name = SecretValidator.Name(request.Name);
        var value = SecretValidator.Value(request.Value, request.ValueBase64);
        var description = SecretValidator.Description(request.Description);
        var hosts = SecretValidator.Hosts(request.Hosts);
        var substitute = SecretValidator.Substitute(request.Substitute, hosts);
        var now = _time.GetUtcNow();
        try
        {
            using var db = Connect();
            using var tx = db.BeginTransaction();
            // A secret deleted with force while in use keeps its versions for those sandboxes' redaction: count on from them.
            var version = (Scalar(db, tx, "SELECT COALESCE(MAX(version), 0) FROM secret_versions WHERE name = $name", name) is long kept ? (int)kept : 0) + 1;
            Run(db, tx, "INSERT INTO secrets (name, description, hosts, substitute, created_at, version) VALUES ($name, $description, $hosts, $substitute, $now, $version)",
                ("$name", name), ("$description", description), ("$hosts", JsonSerializer.Serialize(hosts, ApiJsonContext.Default.StringArray)),
                ("$substitute", JsonSerializer.Serialize(substitute, ApiJsonContext.Default.StringArray)), ("$now", Iso(now)), ("$version", version));
            InsertVersion(db, tx, name, version, value, now);
            tx.Commit();
            Interlocked.Increment(ref _generation);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19) // SQLITE_CONSTRAINT: the name is taken
        {
            throw new HutchException(ErrorCodes.SecretExists, $"A secret named {name} exists: rotate it to give it a new value (POST /v1/secrets/{name}/rotate, `hutch secret rotate {name}`), or delete it first.");
        }
        finally
        {
            Array.Clear(value);
        }
        return Get(name);
    }

    public SecretInfo[] List()
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT name, version, created_at, rotated_at, description, hosts, substitute FROM secrets ORDER BY name";
        using var reader = cmd.ExecuteReader();
        var list = new List<SecretInfo>();
        while (reader.Read())
        {
            list.Add(Read(reader));
        }
        return [.. list.Select(s => s with { UsedBy = UsersOf(db, null, s.Name) })];
    }

    public SecretInfo Get(string name)
    {
        name = KnownName(name);
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT name, version, created_at, rotated_at, description, hosts, substitute FROM secrets WHERE name = $name";
        cmd.Parameters.AddWithValue("$name", name);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? Read(reader) with { UsedBy = UsersOf(db, null, name) } : throw NotFound(name);
    }

    /// <summary>A new version with a new value; the old versions are kept (what a sandbox held stays known, for redaction).</summary>
    public SecretInfo Rotate(string name, RotateSecretRequest request)
    {
        name = KnownName(name);
        var value = SecretValidator.Value(request.Value, request.ValueBase64);
        try
        {
            using var db = Connect();
            using var tx = db.BeginTransaction(System.Data.IsolationLevel.Serializable);
            var version = Scalar(db, tx, "SELECT version FROM secrets WHERE name = $name", name) is long v ? (int)v + 1 : throw NotFound(name);
            var now = _time.GetUtcNow();
            InsertVersion(db, tx, name, version, value, now);
            Run(db, tx, "UPDATE secrets SET version = $version, rotated_at = $now WHERE name = $name",
                ("$version", version), ("$now", Iso(now)), ("$name", name));
            tx.Commit();
            Interlocked.Increment(ref _generation);
        }
        finally
        {
            Array.Clear(value);
        }
        return Get(name);
    }

    /// <summary>
    /// Deletes a secret. One in use is refused (naming its sandboxes) unless <paramref name="force"/>:
    /// then new commands no longer get it, and its versions are kept only to redact what those
    /// sandboxes already hold, until the last of them is deleted.
    /// </summary>
    public void Delete(string name, bool force = false)
    {
        name = KnownName(name);
        using var db = Connect();
        using var tx = db.BeginTransaction(System.Data.IsolationLevel.Serializable);
        var users = UsersOf(db, tx, name);
        if (users.Length > 0 && !force)
        {
            throw new HutchException(ErrorCodes.SecretInUse,
                $"Secret {name} is used by {string.Join(", ", users)}: delete those sandboxes first, or delete it with force (?force=true, `hutch secret rm {name} --force`); they keep what they hold.");
        }
        if (Run(db, tx, "DELETE FROM secrets WHERE name = $name", ("$name", name)) == 0)
        {
            throw NotFound(name);
        }
        if (users.Length == 0)
        {
            Run(db, tx, "DELETE FROM secret_versions WHERE name = $name", ("$name", name));
        }
        tx.Commit();
        Interlocked.Increment(ref _generation);
    }

    /// <summary>The scope of a sandbox's own uses (every command); a process's or service's are <see cref="CommandScope"/>.</summary>
    public const string SandboxScope = "sandbox";

    /// <summary>Uses given at a process or service start: kept (once each) only to know what the sandbox held.</summary>
    public const string CommandScope = "command";

    /// <summary>Records what a sandbox uses (names and variables, never values) in a scope; a use already recorded is kept once.</summary>
    public void RecordUses(string sandboxId, string scope, IReadOnlyList<SecretUseInfo> uses)
    {
        using var db = Connect();
        using var tx = db.BeginTransaction();
        foreach (var use in uses)
        {
            Run(db, tx, "INSERT OR IGNORE INTO secret_uses (sandbox_id, scope, name, kind, env) VALUES ($id, $scope, $name, $kind, $env)",
                ("$id", sandboxId), ("$scope", scope), ("$name", use.Name), ("$kind", use.As), ("$env", TargetOf(use)));
        }
        tx.Commit();
    }

    /// <summary>What a sandbox uses in a scope, in the order recorded.</summary>
    public SecretUseInfo[] UsesOf(string sandboxId, string scope = SandboxScope)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT name, kind, env FROM secret_uses WHERE sandbox_id = $id AND scope = $scope ORDER BY rowid";
        cmd.Parameters.AddWithValue("$id", sandboxId);
        cmd.Parameters.AddWithValue("$scope", scope);
        using var reader = cmd.ExecuteReader();
        var uses = new List<SecretUseInfo>();
        while (reader.Read())
        {
            uses.Add(UseOf(reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }
        return [.. uses];
    }

    /// <summary>Every (sandbox, file name) that has the secret as a file, to write again at a rotation.</summary>
    public List<(string SandboxId, string File)> FileUses(string name)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT DISTINCT sandbox_id, env FROM secret_uses WHERE name = $name AND kind = $kind";
        cmd.Parameters.AddWithValue("$name", name);
        cmd.Parameters.AddWithValue("$kind", SecretKinds.File);
        using var reader = cmd.ExecuteReader();
        var uses = new List<(string, string)>();
        while (reader.Read())
        {
            uses.Add((reader.GetString(0), Path.GetFileName(reader.GetString(1))));
        }
        return uses;
    }

    /// <summary>
    /// What the <c>env</c> column of secret_uses holds: where the value goes, a variable's name or a
    /// file's path (never equal: a name has no '/'), so one secret can be both under one name.
    /// </summary>
    private static string TargetOf(SecretUseInfo use) => use.File is { } file ? $"{SecretKinds.FileDir}/{file}" : use.Env ?? "";

    private static SecretUseInfo UseOf(string name, string kind, string target) =>
        target.StartsWith('/') ? new SecretUseInfo(name, kind, null, Path.GetFileName(target)) : new SecretUseInfo(name, kind, target);

    /// <summary>A deleted sandbox uses nothing; versions kept only for it (a forced delete) go too.</summary>
    public void ForgetUses(string sandboxId)
    {
        using var db = Connect();
        using var tx = db.BeginTransaction();
        Run(db, tx, "DELETE FROM secret_uses WHERE sandbox_id = $id", ("$id", sandboxId));
        Run(db, tx, "DELETE FROM secret_placeholders WHERE sandbox_id = $id", ("$id", sandboxId));
        Run(db, tx, "DELETE FROM sandbox_ca WHERE sandbox_id = $id", ("$id", sandboxId));
        Run(db, tx, "DELETE FROM secret_versions WHERE name NOT IN (SELECT name FROM secrets) AND name NOT IN (SELECT name FROM secret_uses)");
        tx.Commit();
    }

    /// <summary>The sandboxes that use a secret, in any scope.</summary>
    public string[] Users()
    {
        using var db = Connect();
        return Strings(db, null, "SELECT DISTINCT sandbox_id FROM secret_uses");
    }

    /// <summary>The names of every secret a sandbox has used, in any scope: what its redaction looks for.</summary>
    public string[] NamesUsedBy(string sandboxId)
    {
        using var db = Connect();
        return Strings(db, null, "SELECT DISTINCT name FROM secret_uses WHERE sandbox_id = $p", sandboxId);
    }

    /// <summary>Every stored version of the named secrets, values opened: what redaction looks for (a rotated-away value too).</summary>
    public List<(string Name, byte[] Value)> AllVersions(IEnumerable<string> names)
    {
        var values = new List<(string, byte[])>();
        using var db = Connect();
        foreach (var name in names.Distinct())
        {
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT version, key_id, nonce, ciphertext, tag FROM secret_versions WHERE name = $name ORDER BY version";
            cmd.Parameters.AddWithValue("$name", name);
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                values.Add((name, _cipher.Open(name, reader.GetInt32(0), new SealedValue((byte[])reader[1], (byte[])reader[2], (byte[])reader[3], (byte[])reader[4]))));
            }
        }
        return values;
    }

    /// <summary>Bumped by every change to a value (create, rotate, delete): cached redaction sets compare it.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    private long _generation;

    private static string[] UsersOf(SqliteConnection db, SqliteTransaction? tx, string name) =>
        Strings(db, tx, "SELECT DISTINCT sandbox_id FROM secret_uses WHERE name = $p ORDER BY sandbox_id", name);

    /// <summary>The first column of a query's rows, with <c>$p</c> bound to <paramref name="parameter"/>.</summary>
    private static string[] Strings(SqliteConnection db, SqliteTransaction? tx, string sql, string? parameter = null)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$p", (object?)parameter ?? DBNull.Value);
        using var reader = cmd.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }
        return [.. values];
    }

    /// <summary>The value of a version (the current one when null): for the daemon's own use, never an API answer.</summary>
    public byte[] Open(string name, int? version = null) => TryOpen(KnownName(name), version) ?? throw NotFound(name);

    /// <summary>The value of a version (the current one when null), or null when no secret of that name (or no such version) is stored.</summary>
    public byte[]? TryOpen(string name, int? version = null)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = version is null
            ? "SELECT v.version, key_id, nonce, ciphertext, tag FROM secret_versions v JOIN secrets s ON s.name = v.name AND s.version = v.version WHERE v.name = $name"
            : "SELECT version, key_id, nonce, ciphertext, tag FROM secret_versions WHERE name = $name AND version = $version";
        cmd.Parameters.AddWithValue("$name", name);
        cmd.Parameters.AddWithValue("$version", version ?? 0);
        using var reader = cmd.ExecuteReader();
        return reader.Read()
            ? _cipher.Open(name, reader.GetInt32(0), new SealedValue((byte[])reader[1], (byte[])reader[2], (byte[])reader[3], (byte[])reader[4]))
            : null;
    }

    private void InsertVersion(SqliteConnection db, SqliteTransaction tx, string name, int version, byte[] value, DateTimeOffset now)
    {
        var sealedValue = _cipher.Seal(name, version, value);
        Run(db, tx, "INSERT INTO secret_versions (name, version, created_at, key_id, nonce, ciphertext, tag) VALUES ($name, $version, $now, $key, $nonce, $ciphertext, $tag)",
            ("$name", name), ("$version", version), ("$now", Iso(now)), ("$key", sealedValue.KeyId), ("$nonce", sealedValue.Nonce),
            ("$ciphertext", sealedValue.Ciphertext), ("$tag", sealedValue.Tag));
    }

    private static SecretInfo Read(SqliteDataReader r) => new(
        r.GetString(0), r.GetInt32(1), DateTimeOffset.Parse(r.GetString(2), CultureInfo.InvariantCulture),
        r.IsDBNull(3) ? null : DateTimeOffset.Parse(r.GetString(3), CultureInfo.InvariantCulture),
        r.IsDBNull(4) ? null : r.GetString(4),
        JsonSerializer.Deserialize(r.GetString(5), ApiJsonContext.Default.StringArray) ?? [],
        Substitute: r.IsDBNull(6) ? [SecretSubstitutions.Header] : JsonSerializer.Deserialize(r.GetString(6), ApiJsonContext.Default.StringArray) ?? [SecretSubstitutions.Header]);

    /// <summary>A route's name: one no secret could have is simply not found (and never echoed unchecked).</summary>
    private static string KnownName(string name)
    {
        try
        {
            return SecretValidator.Name(name);
        }
        catch (HutchException)
        {
            throw NotFound(name.Length > 128 ? name[..128] + "…" : name);
        }
    }

    private static HutchException NotFound(string name) =>
        new(ErrorCodes.SecretNotFound, $"No secret is named '{name}'. `hutch secret ls` (GET /v1/secrets) lists them.");

    private static string Iso(DateTimeOffset time) => time.ToString("O", CultureInfo.InvariantCulture);

    private static int Run(SqliteConnection db, SqliteTransaction tx, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (parameter, value) in parameters)
        {
            cmd.Parameters.AddWithValue(parameter, value ?? DBNull.Value);
        }
        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection db, SqliteTransaction? tx, string sql, string name)
    {
        using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$name", name);
        return cmd.ExecuteScalar();
    }

    private SqliteConnection Connect()
    {
        var db = Sql.Open(_connectionString, durable: true);
        using var pragma = db.CreateCommand();
        // A deleted row's bytes are overwritten, not left in free pages of the file.
        pragma.CommandText = "PRAGMA secure_delete = ON;";
        pragma.ExecuteNonQuery();
        return db;
    }
}
