using Hutch.Daemon.Registry;
using System.Globalization;
using System.Text.Json;
using Hutch.Artifacts;
using Microsoft.Data.Sqlite;

namespace Hutch.Daemon.Artifacts;

/// <summary>A set as the daemon keeps it: whose it is, its globs, its root's identity in the store.</summary>
/// <param name="SandboxId">The sandbox that writes it now; null for a session's set while none of its sandboxes runs.</param>
public sealed record ArtifactSetRecord(string Set, string? Session, string? SandboxId, string[] Globs, SetIdentity Identity);

/// <summary>
/// One kept (or pending) file, with what its workspace file was when it was last looked at
/// (inode, size, mtime, ctime): a file whose four are the same is not read again.
/// </summary>
public sealed record ArtifactFileRecord(string Path, string Purpose, long Size, string? Sha256, DateTimeOffset Created, string State,
    ulong Inode, long MtimeNs, long CtimeNs);

/// <summary>The daemon's own record of artifact sets and files, in the registry's SQLite file (the store's manifests are the kept copy).</summary>
public sealed class ArtifactRegistry
{
    private readonly string _connectionString;

    public ArtifactRegistry(string databasePath)
    {
        _connectionString = Sql.ConnectionString(databasePath);
        PrivateFiles.OpenWrite(databasePath, append: true).Dispose();
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS artifact_sets (
                set_id TEXT PRIMARY KEY,
                session TEXT,
                sandbox_id TEXT,
                globs TEXT NOT NULL,
                root_dev INTEGER NOT NULL,
                root_ino INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS artifact_sets_sandbox ON artifact_sets (sandbox_id);
            CREATE TABLE IF NOT EXISTS artifact_files (
                set_id TEXT NOT NULL,
                path TEXT NOT NULL,
                purpose TEXT NOT NULL,
                size INTEGER NOT NULL,
                sha256 TEXT,
                created_at TEXT NOT NULL,
                state TEXT NOT NULL,
                inode INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL,
                ctime_ns INTEGER NOT NULL,
                PRIMARY KEY (set_id, path)
            );
            """;
        cmd.ExecuteNonQuery();
    }

    public ArtifactSetRecord? Set(string set) => Sets("WHERE set_id = $v", set).FirstOrDefault();

    /// <summary>The SHA-256 of every file any set keeps (stored, or pending with its content spooled).</summary>
    public HashSet<string> KeptHashes() => [.. Strings("SELECT DISTINCT sha256 FROM artifact_files WHERE sha256 IS NOT NULL")];

    public ArtifactSetRecord? SetOfSandbox(string sandboxId) => Sets("WHERE sandbox_id = $v", sandboxId).FirstOrDefault();

    /// <summary>Every set's id (checked against the store at start).</summary>
    public List<string> SetIds() => Strings("SELECT set_id FROM artifact_sets ORDER BY set_id");

    /// <summary>The sets with a file the store did not take yet.</summary>
    public List<string> SetsWithPending() =>
        Strings($"SELECT DISTINCT set_id FROM artifact_files WHERE state = '{ArtifactStates.Pending}' ORDER BY set_id");

    /// <summary>The content (SHA-256) pending files still need from the spool.</summary>
    public HashSet<string> PendingBlobs() =>
        [.. Strings($"SELECT DISTINCT sha256 FROM artifact_files WHERE state = '{ArtifactStates.Pending}' AND sha256 IS NOT NULL")];

    public void SaveSet(ArtifactSetRecord record)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            INSERT INTO artifact_sets (set_id, session, sandbox_id, globs, root_dev, root_ino) VALUES ($set, $session, $sandbox, $globs, $dev, $ino)
            ON CONFLICT (set_id) DO UPDATE SET sandbox_id = $sandbox, globs = $globs, root_dev = $dev, root_ino = $ino
            """;
        cmd.Parameters.AddWithValue("$set", record.Set);
        cmd.Parameters.AddWithValue("$session", (object?)record.Session ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$sandbox", (object?)record.SandboxId ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$globs", JsonSerializer.Serialize(record.Globs, ArtifactRegistryJson.Default.StringArray));
        cmd.Parameters.AddWithValue("$dev", (long)record.Identity.Device);
        cmd.Parameters.AddWithValue("$ino", (long)record.Identity.Inode);
        cmd.ExecuteNonQuery();
    }

    /// <summary>A sandbox let go of its set (it is being deleted): the set stays, writable by the next sandbox of its session.</summary>
    public void Release(string sandboxId) => Execute("UPDATE artifact_sets SET sandbox_id = NULL WHERE sandbox_id = $v", sandboxId);

    public void DeleteSet(string set)
    {
        Execute("DELETE FROM artifact_files WHERE set_id = $v", set);
        Execute("DELETE FROM artifact_sets WHERE set_id = $v", set);
    }

    /// <summary>Forgets one file of a set (a pending file whose content is gone).</summary>
    public void DeleteFile(string set, string path)
    {
        using var db = Connect();
        using var cmd = Sql.Command(db, null, "DELETE FROM artifact_files WHERE set_id = $s AND path = $p", ("$s", set), ("$p", path));
        cmd.ExecuteNonQuery();
    }

    public List<ArtifactFileRecord> Files(string set)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT path, purpose, size, sha256, created_at, state, inode, mtime_ns, ctime_ns FROM artifact_files WHERE set_id = $v ORDER BY path";
        cmd.Parameters.AddWithValue("$v", set);
        using var reader = cmd.ExecuteReader();
        var files = new List<ArtifactFileRecord>();
        while (reader.Read())
        {
            files.Add(new ArtifactFileRecord(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture), reader.GetString(5), (ulong)reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8)));
        }
        return files;
    }

    public void SaveFile(string set, ArtifactFileRecord file)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            INSERT OR REPLACE INTO artifact_files (set_id, path, purpose, size, sha256, created_at, state, inode, mtime_ns, ctime_ns)
            VALUES ($set, $path, $purpose, $size, $sha, $created, $state, $inode, $mtime, $ctime)
            """;
        cmd.Parameters.AddWithValue("$set", set);
        cmd.Parameters.AddWithValue("$path", file.Path);
        cmd.Parameters.AddWithValue("$purpose", file.Purpose);
        cmd.Parameters.AddWithValue("$size", file.Size);
        cmd.Parameters.AddWithValue("$sha", (object?)file.Sha256 ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$created", file.Created.ToString("O", CultureInfo.InvariantCulture));
        cmd.Parameters.AddWithValue("$state", file.State);
        cmd.Parameters.AddWithValue("$inode", (long)file.Inode);
        cmd.Parameters.AddWithValue("$mtime", file.MtimeNs);
        cmd.Parameters.AddWithValue("$ctime", file.CtimeNs);
        cmd.ExecuteNonQuery();
    }

    private List<ArtifactSetRecord> Sets(string where, string value)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT set_id, session, sandbox_id, globs, root_dev, root_ino FROM artifact_sets {where}";
        cmd.Parameters.AddWithValue("$v", value);
        using var reader = cmd.ExecuteReader();
        var sets = new List<ArtifactSetRecord>();
        while (reader.Read())
        {
            sets.Add(new ArtifactSetRecord(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                JsonSerializer.Deserialize(reader.GetString(3), ArtifactRegistryJson.Default.StringArray) ?? [],
                new SetIdentity((ulong)reader.GetInt64(4), (ulong)reader.GetInt64(5))));
        }
        return sets;
    }

    private List<string> Strings(string sql)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var reader = cmd.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
        {
            values.Add(reader.GetString(0));
        }
        return values;
    }

    private void Execute(string sql, string value)
    {
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$v", value);
        cmd.ExecuteNonQuery();
    }

    private SqliteConnection Connect() => Sql.Open(_connectionString);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string[]))]
internal sealed partial class ArtifactRegistryJson : System.Text.Json.Serialization.JsonSerializerContext;
