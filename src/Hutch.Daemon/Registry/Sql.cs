using Microsoft.Data.Sqlite;

namespace Hutch.Daemon.Registry;

/// <summary>The registry file's SQLite plumbing that every feature's tables share (sandboxes, templates, bundles, secrets, artifacts).</summary>
internal static class Sql
{
    /// <summary>How every store opens the registry file: pooled, waiting up to 30 s for another writer.</summary>
    public static string ConnectionString(string databasePath) =>
        new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true, DefaultTimeout = 30 }.ToString();

    /// <summary>An open connection (pooled by Microsoft.Data.Sqlite); dispose it when done.</summary>
    public static SqliteConnection Open(string connectionString)
    {
        var db = new SqliteConnection(connectionString);
        db.Open();
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
