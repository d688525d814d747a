using Microsoft.Data.Sqlite;

namespace Hutch.Daemon.Registry;

/// <summary>The registry file's SQLite plumbing that every feature's tables share (sandboxes, templates, bundles, secrets, artifacts).</summary>
internal static class Sql
{
    /// <summary>How every store opens the registry file: pooled, waiting up to 30 s for another writer.</summary>
    public static string ConnectionString(string databasePath) =>
        new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true, DefaultTimeout = 30 }.ToString();

    /// <summary>An open connection (pooled by Microsoft.Data.Sqlite); dispose it when done.</summary>
    /// <param name="durable">
    /// True: each commit is fsynced (synchronous = FULL), for rows a power cut must not take back
    /// (secrets). Otherwise synchronous = NORMAL: in WAL mode a commit is not fsynced, only each
    /// checkpoint is, so the file stays consistent through any crash and a kill -9 loses nothing, but a
    /// power cut may take back the last commits. Sandbox, template, bundle and artifact rows are
    /// reconciled with the host at start anyway, and a create no longer waits for an fsync per row.
    /// </param>
    public static SqliteConnection Open(string connectionString, bool durable = false)
    {
        var db = new SqliteConnection(connectionString);
        db.Open();
        // busy_timeout: SQLite itself waits for another writer in steps of 1-100 ms. Without it
        // Microsoft.Data.Sqlite sees SQLITE_BUSY and sleeps 150 ms before each retry: a create whose
        // bundle rows met the warm pool's refill writing waited 155 ms (measured) for a lock held ~1 ms.
        using var pragma = Command(db, null, durable
            ? "PRAGMA busy_timeout = 30000; PRAGMA synchronous = FULL;"
            : "PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL;");
        pragma.ExecuteNonQuery();
        return db;
    }

    /// <summary>A command with its parameters bound (null as SQL NULL), in <paramref name="tx"/> when given.</summary>
    public static SqliteCommand Command(SqliteConnection db, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return cmd;
    }
}
