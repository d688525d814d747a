using System.Globalization;
using System.Text.Json;
using Hutch.Protocol.Api;
using Microsoft.Data.Sqlite;

namespace Hutch.Daemon.Registry;

/// <summary>
/// The SQLite registry of sandboxes (one file in the data dir, WAL mode so a daemon and in-process
/// `hutch run`s can share it). It is what survives a daemon restart. Uniqueness that matters for
/// safety is enforced by the database itself: a name and a host uid range belong to at most one live
/// sandbox, even when two processes create at the same moment.
/// </summary>
public sealed class SandboxRegistry
{
    private readonly string _connectionString;

    public SandboxRegistry(string databasePath)
    {
        _connectionString = Sql.ConnectionString(databasePath);
        // SQLite gives its -wal and -shm files the database file's mode: 0600 from the start (and for
        // files an older daemon made readable), since rows hold the env values given at create.
        PrivateFiles.OpenWrite(databasePath, append: true).Dispose();
        PrivateFiles.Restrict(databasePath + "-wal");
        PrivateFiles.Restrict(databasePath + "-shm");
        using var db = Open();
        Execute(db, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS sandboxes (
                id TEXT PRIMARY KEY,
                name TEXT,
                state TEXT NOT NULL,
                created_at TEXT NOT NULL,
                expires_at TEXT,
                user TEXT NOT NULL,
                cwd TEXT NOT NULL,
                env TEXT NOT NULL,
                limits TEXT NOT NULL,
                host_id_base INTEGER NOT NULL,
                host_workspace TEXT,
                owner TEXT NOT NULL,
                deleted_at TEXT
            );
            CREATE UNIQUE INDEX IF NOT EXISTS sandboxes_live_name ON sandboxes(name) WHERE state != 'deleted' AND name IS NOT NULL;
            CREATE UNIQUE INDEX IF NOT EXISTS sandboxes_live_ids ON sandboxes(host_id_base) WHERE state != 'deleted';
            """);
        Execute(db, """
            CREATE TABLE IF NOT EXISTS events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                sandbox_id TEXT NOT NULL,
                at TEXT NOT NULL,
                type TEXT NOT NULL,
                message TEXT NOT NULL,
                process_id TEXT
            );
            CREATE INDEX IF NOT EXISTS events_by_sandbox ON events(sandbox_id, seq);
            """);
        // Added after the first release, so a registry.db of an older daemon gains them here: a TTL's
        // end on the boot clock ("bootid:ms"), the caller's labels (JSON), why a row was deleted.
        AddColumn(db, "expires_boot");
        AddColumn(db, "labels");
        AddColumn(db, "deleted_reason");
        AddColumn(db, "host_workspace_owner");
        AddColumn(db, "network");
        AddColumn(db, "template");
        AddColumn(db, "mount_points");
    }

    /// <summary>Why the reaper deleted a sandbox, kept on its row so a later request hears "expired", not "not found".</summary>
    public const string ExpiredReason = "expired";

    private static void AddColumn(SqliteConnection db, string column)
    {
        if (Scalar(db, null, "SELECT COUNT(*) FROM pragma_table_info('sandboxes') WHERE name = $c", ("$c", column)) == 0)
        {
            Execute(db, $"ALTER TABLE sandboxes ADD COLUMN {column} TEXT");
        }
    }

    /// <summary>
    /// Inserts a new sandbox and gives it the lowest free host uid range. Throws name_taken when a live
    /// sandbox has the name, and too_many_sandboxes when <paramref name="maxLive"/> callers' sandboxes
    /// (lost ones included: they hold disk; the warm pool's not, it has a bound of its own) are not
    /// deleted yet. The serializable transaction makes the count hold against parallel creates.
    /// </summary>
    public SandboxRecord Insert(SandboxRecord record, int firstIdBase, int idRangeSize, int? maxLive)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var db = Open();
            using var tx = db.BeginTransaction(System.Data.IsolationLevel.Serializable);
            if (record.Name is not null && Scalar(db, tx, "SELECT COUNT(*) FROM sandboxes WHERE name = $n AND state != 'deleted'", ("$n", record.Name)) > 0)
            {
                throw NameTaken(record.Name);
            }
            if (maxLive is { } max)
            {
                CheckLimit(db, tx, max);
            }
            var used = new HashSet<long>();
            using (var cmd = Sql.Command(db, tx, "SELECT host_id_base FROM sandboxes WHERE state != 'deleted'"))
            using (var reader = cmd.ExecuteReader())
            {
                while (reader.Read())
                {
                    used.Add(reader.GetInt64(0));
                }
            }
            var idBase = firstIdBase;
            while (used.Contains(idBase))
            {
                idBase += idRangeSize;
            }
            var row = record with { HostIdBase = idBase };
            try
            {
                using var insert = Sql.Command(db, tx, """
                    INSERT INTO sandboxes (id, name, state, created_at, expires_at, expires_boot, user, cwd, env, limits, host_id_base, host_workspace, owner, labels, host_workspace_owner, network, template, mount_points)
                    VALUES ($id, $name, $state, $created, $expires, $deadline, $user, $cwd, $env, $limits, $base, $ws, $owner, $labels, $wsOwner, $network, $template, $mounts)
                    """,
                    ("$id", row.Id), ("$name", row.Name), ("$state", row.State), ("$created", Format(row.CreatedAt)),
                    ("$expires", row.ExpiresAt is { } e ? Format(e) : null), ("$deadline", row.Deadline?.ToString()), ("$user", row.User), ("$cwd", row.Cwd),
                    ("$env", JsonSerializer.Serialize(row.Env, RegistryJsonContext.Default.DictionaryStringString)),
                    ("$limits", JsonSerializer.Serialize(row.Limits, RegistryJsonContext.Default.SandboxLimits)),
                    ("$base", row.HostIdBase), ("$ws", row.HostWorkspace), ("$owner", row.Owner), ("$labels", LabelsJson(row.Labels)), ("$wsOwner", row.HostWorkspaceOwner),
                    ("$network", NetworkJson(row.Network)), ("$template", row.Template),
                    ("$mounts", row.MountPoints is { Length: > 0 } m ? JsonSerializer.Serialize(m, RegistryJsonContext.Default.StringArray) : null));
                insert.ExecuteNonQuery();
                tx.Commit();
                return row;
            }
            catch (SqliteException e) when (e.SqliteErrorCode == 19 && attempt < 5) // SQLITE_CONSTRAINT: another process won the race
            {
                if (record.Name is not null && e.Message.Contains("name", StringComparison.Ordinal))
                {
                    throw NameTaken(record.Name);
                }
            }
        }
    }

    public SandboxRecord? Find(string idOrName)
    {
        using var db = Open();
        return Query(db, "SELECT * FROM sandboxes WHERE state != 'pooled' AND (id = $k OR (name = $k AND state != 'deleted')) ORDER BY state = 'deleted' LIMIT 1", ("$k", idOrName)).FirstOrDefault();
    }

    /// <summary>The last deleted sandbox that had this name: a second delete by name finds it gone, as by id.</summary>
    public SandboxRecord? FindDeletedByName(string name)
    {
        using var db = Open();
        return Query(db, "SELECT * FROM sandboxes WHERE name = $k AND state = 'deleted' ORDER BY deleted_at DESC LIMIT 1", ("$k", name)).FirstOrDefault();
    }

    /// <summary>Every sandbox not deleted and not waiting in the warm pool, oldest first.</summary>
    public IReadOnlyList<SandboxRecord> ListLive()
    {
        using var db = Open();
        return Query(db, "SELECT * FROM sandboxes WHERE state NOT IN ('deleted', 'pooled') ORDER BY created_at");
    }

    /// <summary>The warm pool's sandboxes: started, unclaimed, invisible to the API.</summary>
    public IReadOnlyList<SandboxRecord> ListPooled()
    {
        using var db = Open();
        return Query(db, "SELECT * FROM sandboxes WHERE state = 'pooled' ORDER BY created_at");
    }

    /// <summary>A pooled sandbox by its id (the pool's own work on it only: the API never finds one).</summary>
    public SandboxRecord? FindPooled(string id)
    {
        using var db = Open();
        return Query(db, "SELECT * FROM sandboxes WHERE id = $k AND state = 'pooled'", ("$k", id)).FirstOrDefault();
    }

    /// <summary>
    /// Turns a pooled sandbox into the caller's: its name, env, cwd, creation time and expiry. Returns
    /// the new row, or throws name_taken (the unique index decides, even against another process).
    /// </summary>
    public SandboxRecord Claim(SandboxRecord pooled, string? name, Dictionary<string, string> env, Dictionary<string, string> labels, string cwd,
        DateTimeOffset createdAt, DateTimeOffset? expiresAt, TtlDeadline? deadline, int maxLive)
    {
        using var db = Open();
        using var tx = db.BeginTransaction(System.Data.IsolationLevel.Serializable);
        CheckLimit(db, tx, maxLive);
        try
        {
            using var cmd = Sql.Command(db, tx, """
                UPDATE sandboxes SET name = $name, env = $env, labels = $labels, cwd = $cwd, created_at = $created, expires_at = $expires, expires_boot = $deadline, state = 'running'
                WHERE id = $id AND state = 'pooled'
                """,
                ("$name", name), ("$env", JsonSerializer.Serialize(env, RegistryJsonContext.Default.DictionaryStringString)), ("$labels", LabelsJson(labels)), ("$cwd", cwd),
                ("$created", Format(createdAt)), ("$expires", expiresAt is { } e ? Format(e) : null), ("$deadline", deadline?.ToString()), ("$id", pooled.Id));
            if (cmd.ExecuteNonQuery() != 1)
            {
                throw new InvalidOperationException($"pooled sandbox {pooled.Id} was claimed twice");
            }
            tx.Commit();
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19 && name is not null)
        {
            throw NameTaken(name);
        }
        return pooled with { Name = name, Env = env, Labels = labels, Cwd = cwd, CreatedAt = createdAt, ExpiresAt = expiresAt, Deadline = deadline, State = "running" };
    }

    public void SetState(string id, string state)
    {
        using var db = Open();
        using var cmd = Sql.Command(db, null, "UPDATE sandboxes SET state = $s WHERE id = $id", ("$s", state), ("$id", id));
        cmd.ExecuteNonQuery();
    }

    /// <summary>Gives a sandbox that is not deleted a new TTL; false when it is deleted (or gone) already.</summary>
    public bool SetExpiry(string id, DateTimeOffset expiresAt, TtlDeadline deadline)
    {
        using var db = Open();
        using var cmd = Sql.Command(db, null, "UPDATE sandboxes SET expires_at = $e, expires_boot = $d WHERE id = $id AND state NOT IN ('deleted', 'pooled')",
            ("$e", Format(expiresAt)), ("$d", deadline.ToString()), ("$id", id));
        return cmd.ExecuteNonQuery() == 1;
    }

    /// <summary>
    /// When the sandbox that <paramref name="idOrName"/> named (its id, or the name of the latest one
    /// deleted) was deleted because its TTL ended; null when no such row is deleted for that reason.
    /// </summary>
    public DateTimeOffset? ExpiredAt(string idOrName)
    {
        using var db = Open();
        using var cmd = Sql.Command(db, null, """
            SELECT deleted_reason, deleted_at FROM sandboxes WHERE state = 'deleted' AND (id = $k OR name = $k)
            ORDER BY id = $k DESC, deleted_at DESC LIMIT 1
            """, ("$k", idOrName));
        using var reader = cmd.ExecuteReader();
        return reader.Read() && !reader.IsDBNull(0) && reader.GetString(0) == ExpiredReason && !reader.IsDBNull(1) ? Parse(reader.GetString(1)) : null;
    }

    public void SetOwner(string id, string owner)
    {
        using var db = Open();
        using var cmd = Sql.Command(db, null, "UPDATE sandboxes SET owner = $o WHERE id = $id", ("$o", owner), ("$id", id));
        cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// Marks the sandbox deleted: its name and uid range become free, the row stays so a second delete
    /// is a no-op. Its env values are needed no more and are overwritten (secure_delete zeroes the
    /// freed bytes; the checkpoint empties the WAL of the old page when no reader holds it).
    /// </summary>
    /// <param name="reason">Why, when it was not asked for: <see cref="ExpiredReason"/>.</param>
    public void MarkDeleted(string id, DateTimeOffset at, string? reason = null)
    {
        using var db = Open();
        Execute(db, "PRAGMA secure_delete = ON");
        using (var cmd = Sql.Command(db, null, "UPDATE sandboxes SET state = 'deleted', deleted_at = $at, deleted_reason = $why, env = '{}' WHERE id = $id; DELETE FROM events WHERE sandbox_id = $id",
            ("$at", Format(at)), ("$why", reason), ("$id", id)))
        {
            cmd.ExecuteNonQuery();
        }
        Execute(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    }

    /// <summary>Removes a row that never became a sandbox (its creation failed): nothing of it is kept.</summary>
    public void Remove(string id)
    {
        using var db = Open();
        using var cmd = Sql.Command(db, null, "DELETE FROM sandboxes WHERE id = $id; DELETE FROM events WHERE sandbox_id = $id", ("$id", id));
        cmd.ExecuteNonQuery();
    }

    /// <summary>The most events kept per sandbox; older ones are dropped as new ones come.</summary>
    public const int MaxEvents = 100;

    public void AddEvent(string sandboxId, SandboxEvent e)
    {
        using var db = Open();
        using var cmd = Sql.Command(db, null, """
            INSERT INTO events (sandbox_id, at, type, message, process_id) VALUES ($id, $at, $type, $message, $process);
            DELETE FROM events WHERE sandbox_id = $id AND seq <= (SELECT seq FROM events WHERE sandbox_id = $id ORDER BY seq DESC LIMIT 1 OFFSET $max);
            """,
            ("$id", sandboxId), ("$at", Format(e.At)), ("$type", e.Type), ("$message", e.Message), ("$process", e.ProcessId), ("$max", MaxEvents));
        cmd.ExecuteNonQuery();
    }

    /// <summary>The sandbox's events, oldest first.</summary>
    public List<SandboxEvent> Events(string sandboxId)
    {
        using var db = Open();
        using var cmd = Sql.Command(db, null, "SELECT at, type, message, process_id FROM events WHERE sandbox_id = $id ORDER BY seq", ("$id", sandboxId));
        using var reader = cmd.ExecuteReader();
        var events = new List<SandboxEvent>();
        while (reader.Read())
        {
            events.Add(new SandboxEvent(Parse(reader.GetString(0)), reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3)));
        }
        return events;
    }

    /// <summary>Whether an event of <paramref name="type"/> about <paramref name="processId"/> is recorded already.</summary>
    public bool HasEvent(string sandboxId, string type, string processId)
    {
        using var db = Open();
        return Scalar(db, null, "SELECT COUNT(*) FROM events WHERE sandbox_id = $id AND type = $type AND process_id = $p", ("$id", sandboxId), ("$type", type), ("$p", processId)) > 0;
    }

    /// <summary>Refuses a caller's new sandbox when <paramref name="maxLive"/> of theirs are not deleted yet (the pool's do not count).</summary>
    private static void CheckLimit(SqliteConnection db, SqliteTransaction tx, int maxLive)
    {
        var callers = Scalar(db, tx, "SELECT COUNT(*) FROM sandboxes WHERE state NOT IN ('deleted', 'pooled')");
        if (callers >= maxLive)
        {
            // 409 like the other count caps (too_many_processes): waiting does not help, deleting does.
            throw new HutchException(ErrorCodes.TooManySandboxes,
                $"This daemon already holds {callers} sandboxes, its limit (HUTCH_MAX_SANDBOXES={maxLive}). Delete sandboxes you no longer need (DELETE /v1/sandboxes/{{id}}), or give them a ttlSeconds, then create again.");
        }
    }

    private static HutchException NameTaken(string name) => new HutchException(ErrorCodes.NameTaken,
        $"A sandbox named '{name}' already exists. Pick another name, or delete that sandbox first (DELETE /v1/sandboxes/{name}).");

    private SqliteConnection Open() => Sql.Open(_connectionString);

    private static string Format(DateTimeOffset value) => value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string value) => DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static void Execute(SqliteConnection db, string sql)
    {
        using var cmd = Sql.Command(db, null, sql);
        cmd.ExecuteNonQuery();
    }

    private static long Scalar(SqliteConnection db, SqliteTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Sql.Command(db, tx, sql, args);
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>How many sandboxes not deleted yet (pooled and lost ones too) have their root from this template ("NAME:VERSION").</summary>
    public long CountUsing(string template)
    {
        using var db = Open();
        return Scalar(db, null, "SELECT COUNT(*) FROM sandboxes WHERE template = $t AND state != 'deleted'", ("$t", template));
    }

    /// <summary>Records a sandbox's new network policy (null: mode none).</summary>
    public void SetNetwork(string id, NetworkPolicy? network)
    {
        using var db = Open();
        using var cmd = Sql.Command(db, null, "UPDATE sandboxes SET network = $n WHERE id = $id", ("$n", NetworkJson(network)), ("$id", id));
        cmd.ExecuteNonQuery();
    }

    private static string? NetworkJson(NetworkPolicy? network) =>
        network is null ? null : JsonSerializer.Serialize(network, RegistryJsonContext.Default.NetworkPolicy);

    private static string? LabelsJson(Dictionary<string, string>? labels) =>
        labels is { Count: > 0 } ? JsonSerializer.Serialize(labels, RegistryJsonContext.Default.DictionaryStringString) : null;

    private static List<SandboxRecord> Query(SqliteConnection db, string sql, params (string, object?)[] args)
    {
        using var cmd = Sql.Command(db, null, sql, args);
        using var reader = cmd.ExecuteReader();
        var rows = new List<SandboxRecord>();
        while (reader.Read())
        {
            string? Text(string column) => reader.IsDBNull(reader.GetOrdinal(column)) ? null : reader.GetString(reader.GetOrdinal(column));
            rows.Add(new SandboxRecord(
                Text("id")!,
                Text("name"),
                Text("state")!,
                Parse(Text("created_at")!),
                Text("expires_at") is { } e ? Parse(e) : null,
                Text("user")!,
                Text("cwd")!,
                JsonSerializer.Deserialize(Text("env")!, RegistryJsonContext.Default.DictionaryStringString) ?? [],
                JsonSerializer.Deserialize(Text("limits")!, RegistryJsonContext.Default.SandboxLimits)!,
                reader.GetInt32(reader.GetOrdinal("host_id_base")),
                Text("host_workspace"),
                Text("owner")!,
                TtlDeadline.Parse(Text("expires_boot")),
                Text("labels") is { } labels ? JsonSerializer.Deserialize(labels, RegistryJsonContext.Default.DictionaryStringString) : null,
                Text("host_workspace_owner"),
                Text("network") is { } network ? JsonSerializer.Deserialize(network, RegistryJsonContext.Default.NetworkPolicy) : null,
                Text("template"),
                Text("mount_points") is { } mounts ? JsonSerializer.Deserialize(mounts, RegistryJsonContext.Default.StringArray) : null));
        }
        return rows;
    }
}
