using Hutch.Daemon.Registry;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace Hutch.Daemon.Bundles;

/// <summary>One version of a bundle as the registry keeps it.</summary>
public sealed record BundleVersionRecord(string Name, long Version, string Digest, DateTimeOffset CreatedAt, long Files, long Bytes);

/// <summary>A bundle a sandbox mounts: which version, where inside.</summary>
public sealed record BundleMountRecord(string SandboxId, string Name, long Version, string Path);

/// <summary>
/// The registry of bundles (tables in registry.db, beside the sandboxes they join): names and their
/// immutable versions, and which sandbox mounts which version where, so a restarted daemon knows
/// every mount it must keep and a delete knows who still uses a version.
/// </summary>
public sealed partial class BundleStore
{
    private readonly string _connectionString;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, IReadOnlyList<BundleVersionRecord>> _versions = new(StringComparer.Ordinal);
    // Held over a read and its keeping, and by a write's forgetting (after the write): a read of the
    // rows from before a write can never be kept after it.
    private readonly Lock _versionsLock = new();

    public BundleStore(string databasePath, TimeProvider time)
    {
        _connectionString = Sql.ConnectionString(databasePath);
        _time = time;
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS bundles (
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                digest TEXT NOT NULL,
                created_at TEXT NOT NULL,
                files INTEGER NOT NULL,
                bytes INTEGER NOT NULL,
                PRIMARY KEY (name, version)
            );
            CREATE TABLE IF NOT EXISTS sandbox_bundles (
                sandbox_id TEXT NOT NULL,
                name TEXT NOT NULL,
                version INTEGER NOT NULL,
                path TEXT NOT NULL,
                PRIMARY KEY (sandbox_id, name)
            );
            CREATE INDEX IF NOT EXISTS sandbox_bundles_by_bundle ON sandbox_bundles(name, version);
            """;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Checks a bundle name: 1-63 of [a-z0-9._-] starting with a letter or digit.</summary>
    public static void CheckName(string? name, string field = "name")
    {
        if (name is null || !NamePattern().IsMatch(name))
        {
            throw new HutchException(ErrorCodes.InvalidBundle,
                $"{field}: bundle name '{Shown(name ?? "")}' is not 1-63 of [a-z0-9._-] starting with a letter or digit (e.g. 'skills', 'prompts')");
        }
    }

    /// <summary>A version as given ("3", or "latest"/null for the newest): its number, or null for the newest.</summary>
    public static long? ParseVersion(string? version, string field = "version")
    {
        if (version is null or BundleLocations.Latest)
        {
            return null;
        }
        if (long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0)
        {
            return number;
        }
        throw new HutchException(ErrorCodes.InvalidBundle, $"{field}: bundle version '{Shown(version)}' is not a version number (1, 2, …) or 'latest'");
    }

    /// <summary>The number the next version of <paramref name="name"/> gets (1 for a new bundle; numbers are never reused while a higher one exists).</summary>
    public long NextVersion(string name)
    {
        using var db = Connect();
        using var cmd = Sql.Command(db, null, "SELECT COALESCE(MAX(version), 0) FROM bundles WHERE name = $n", ("$n", name));
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) + 1;
    }

    public BundleVersionRecord Add(string name, long version, string digest, long files, long bytes)
    {
        var record = new BundleVersionRecord(name, version, digest, _time.GetUtcNow(), files, bytes);
        using var db = Connect();
        using var cmd = Sql.Command(db, null, "INSERT INTO bundles (name, version, digest, created_at, files, bytes) VALUES ($n, $v, $d, $c, $f, $b)",
            ("$n", name), ("$v", version), ("$d", digest), ("$c", record.CreatedAt.ToString("O", CultureInfo.InvariantCulture)), ("$f", files), ("$b", bytes));
        cmd.ExecuteNonQuery();
        Forget(name);
        return record;
    }

    /// <summary>Whether the registry has the version (what the tree store keeps at start).</summary>
    public bool Has(string name, long version)
    {
        using var db = Connect();
        using var cmd = Sql.Command(db, null, "SELECT COUNT(*) FROM bundles WHERE name = $n AND version = $v", ("$n", name), ("$v", version));
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
    }

    /// <summary>The version named, or the newest without one; bundle_not_found otherwise.</summary>
    public BundleVersionRecord Get(string name, long? version)
    {
        var versions = Versions(name);
        if (versions.Count == 0)
        {
            throw new HutchException(ErrorCodes.BundleNotFound, $"no bundle named '{name}': `hutch bundle ls` lists them, `hutch bundle push DIR --name {name}` makes one");
        }
        return version is null ? versions[^1] : versions.FirstOrDefault(v => v.Version == version)
            ?? throw new HutchException(ErrorCodes.BundleNotFound,
                $"bundle '{name}' has no version {version} (it has {string.Join(", ", versions.Select(v => v.Version))}): `hutch bundle show {name}` lists them");
    }

    /// <summary>A bundle's versions, oldest first (empty when there is no such bundle).</summary>
    /// <remarks>
    /// Kept in memory per name once read (only this daemon writes the table; Add and Remove forget
    /// the name): a create with five bundles looks each up twice, and ten registry reads were a
    /// third of what five bundles added to a warm create. A name with no versions is not kept, so
    /// lookups of made-up names cannot grow it.
    /// </remarks>
    public IReadOnlyList<BundleVersionRecord> Versions(string name)
    {
        lock (_versionsLock)
        {
            if (_versions.TryGetValue(name, out var known))
            {
                return known;
            }
            var versions = QueryVersions("SELECT * FROM bundles WHERE name = $n ORDER BY version", ("$n", name));
            if (versions.Count > 0)
            {
                _versions[name] = versions;
            }
            return versions;
        }
    }

    private void Forget(string name)
    {
        lock (_versionsLock)
        {
            _versions.Remove(name);
        }
    }

    /// <summary>Every version of every bundle, by name then version.</summary>
    public IReadOnlyList<BundleVersionRecord> List() => QueryVersions("SELECT * FROM bundles ORDER BY name, version");

    public void Remove(string name, long version)
    {
        using var db = Connect();
        using var cmd = Sql.Command(db, null, "DELETE FROM bundles WHERE name = $n AND version = $v", ("$n", name), ("$v", version));
        cmd.ExecuteNonQuery();
        Forget(name);
    }

    /// <summary>The sandboxes (not deleted) that mount a version, by id.</summary>
    public IReadOnlyList<string> SandboxesUsing(string name, long version) =>
        [.. QueryMounts("""
            SELECT b.* FROM sandbox_bundles b JOIN sandboxes s ON s.id = b.sandbox_id
            WHERE b.name = $n AND b.version = $v AND s.state != 'deleted' ORDER BY b.sandbox_id
            """, ("$n", name), ("$v", version)).Select(m => m.SandboxId)];

    /// <summary>What a sandbox mounts, by name.</summary>
    public IReadOnlyList<BundleMountRecord> Mounts(string sandboxId) =>
        QueryMounts("SELECT * FROM sandbox_bundles WHERE sandbox_id = $s ORDER BY name", ("$s", sandboxId));

    /// <summary>Records mounts (new or switched) of one sandbox, all at once.</summary>
    public void SetMounts(IEnumerable<BundleMountRecord> mounts)
    {
        using var db = Connect();
        using var tx = db.BeginTransaction();
        foreach (var m in mounts)
        {
            using var cmd = Sql.Command(db, null, "INSERT OR REPLACE INTO sandbox_bundles (sandbox_id, name, version, path) VALUES ($s, $n, $v, $p)",
                ("$s", m.SandboxId), ("$n", m.Name), ("$v", m.Version), ("$p", m.Path));
            cmd.Transaction = tx;
            cmd.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>Forgets one mount of a sandbox, or all of them (<paramref name="name"/> null).</summary>
    public void RemoveMounts(string sandboxId, string? name = null)
    {
        using var db = Connect();
        using var cmd = name is null
            ? Sql.Command(db, null, "DELETE FROM sandbox_bundles WHERE sandbox_id = $s", ("$s", sandboxId))
            : Sql.Command(db, null, "DELETE FROM sandbox_bundles WHERE sandbox_id = $s AND name = $n", ("$s", sandboxId), ("$n", name));
        cmd.ExecuteNonQuery();
    }

    private List<BundleVersionRecord> QueryVersions(string sql, params (string, object?)[] args)
    {
        using var db = Connect();
        using var cmd = Sql.Command(db, null, sql, args);
        using var reader = cmd.ExecuteReader();
        var rows = new List<BundleVersionRecord>();
        while (reader.Read())
        {
            rows.Add(new BundleVersionRecord(reader.GetString(reader.GetOrdinal("name")), reader.GetInt64(reader.GetOrdinal("version")),
                reader.GetString(reader.GetOrdinal("digest")),
                DateTimeOffset.Parse(reader.GetString(reader.GetOrdinal("created_at")), CultureInfo.InvariantCulture),
                reader.GetInt64(reader.GetOrdinal("files")), reader.GetInt64(reader.GetOrdinal("bytes"))));
        }
        return rows;
    }

    private List<BundleMountRecord> QueryMounts(string sql, params (string, object?)[] args)
    {
        using var db = Connect();
        using var cmd = Sql.Command(db, null, sql, args);
        using var reader = cmd.ExecuteReader();
        var rows = new List<BundleMountRecord>();
        while (reader.Read())
        {
            rows.Add(new BundleMountRecord(reader.GetString(reader.GetOrdinal("sandbox_id")), reader.GetString(reader.GetOrdinal("name")),
                reader.GetInt64(reader.GetOrdinal("version")), reader.GetString(reader.GetOrdinal("path"))));
        }
        return rows;
    }

    private SqliteConnection Connect() => Sql.Open(_connectionString);

    /// <summary>A refused name as shown back: at most 80 characters, control characters escaped.</summary>
    internal static string Shown(string text) =>
        string.Concat(text.Take(80).Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex NamePattern();
}
