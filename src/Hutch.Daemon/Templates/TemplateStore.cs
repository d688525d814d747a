using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Hutch.Daemon.Registry;
using Microsoft.Data.Sqlite;

namespace Hutch.Daemon.Templates;

/// <summary>What makes a template's root: its layers (diff ids, bottom first) and the image's settings.</summary>
/// <param name="Start">The start command its sandboxes run (a Dockerfile's ENTRYPOINT and CMD); an imported image's CMD is not one.</param>
/// <param name="Readiness">When a started sandbox is ready (a Dockerfile's HEALTHCHECK CMD).</param>
/// <remarks>
/// Start and Readiness are left out of the JSON when null, so a manifest without them has the
/// digest it had before they existed.
/// </remarks>
public sealed record TemplateManifest(
    string[] Layers,
    Dictionary<string, string> Env,
    string? WorkingDir = null,
    string? User = null,
    string[]? Cmd = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string[]? Start = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ProbeSpec? Readiness = null)
{
    /// <summary>"sha256:…" of the manifest's canonical JSON: equal layers and settings, equal digest.</summary>
    public string Digest() =>
        "sha256:" + Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(this, RegistryJsonContext.Default.TemplateManifest)));
}

/// <summary>One version of a template as the registry keeps it.</summary>
public sealed record TemplateRecord(string Name, string Version, string Digest, string Source, DateTimeOffset CreatedAt, TemplateManifest Manifest)
{
    /// <summary>"NAME:VERSION", what a sandbox's row names.</summary>
    public string Reference => $"{Name}:{Version}";
}

/// <summary>
/// The registry of templates (a table in registry.db): names and immutable versions, each a manifest
/// of content-addressed layers (kept by the layer store). A version, once made, never changes.
/// </summary>
public sealed partial class TemplateStore
{
    private readonly string _connectionString;
    private readonly TimeProvider _time;

    public TemplateStore(string databasePath, TimeProvider time)
    {
        _connectionString = Sql.ConnectionString(databasePath);
        _time = time;
        using var db = Connect();
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS templates (
                name TEXT NOT NULL,
                version TEXT NOT NULL,
                digest TEXT NOT NULL,
                source TEXT NOT NULL,
                created_at TEXT NOT NULL,
                manifest TEXT NOT NULL,
                PRIMARY KEY (name, version)
            );
            CREATE TABLE IF NOT EXISTS template_build_cache (
                key TEXT PRIMARY KEY,
                manifest TEXT NOT NULL,
                created_at TEXT NOT NULL
            );
            """;
        cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// How a build sandbox's root is named in its row: "@build:KEY", a build step's state in the
    /// build cache. Never a template name (those start with a letter or digit), so no API caller can
    /// give one: <see cref="ParseReference"/> refuses it.
    /// </summary>
    public const string BuildReferencePrefix = "@build:";

    /// <summary>Build cache keys that builds in flight use (<see cref="HoldBuildCache"/>); under <see cref="_holdsLock"/>.</summary>
    private readonly Dictionary<string, int> _heldKeys = new(StringComparer.Ordinal);
    private readonly Lock _holdsLock = new();

    /// <summary>
    /// A build's hold on the cache entries it reads or writes: <see cref="PruneBuildCache"/> leaves a
    /// held key's entry alone. Hold a key before reading it (a prune then either removed it before,
    /// and the read misses, or keeps it). Dispose it when the build ends.
    /// </summary>
    public BuildCacheHold HoldBuildCache() => new(this);

    public sealed class BuildCacheHold(TemplateStore store) : IDisposable
    {
        private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

        public void Add(string key)
        {
            lock (store._holdsLock)
            {
                if (_keys.Add(key))
                {
                    store._heldKeys[key] = store._heldKeys.GetValueOrDefault(key) + 1;
                }
            }
        }

        public void Dispose()
        {
            lock (store._holdsLock)
            {
                foreach (var key in _keys)
                {
                    if (--store._heldKeys[key] == 0)
                    {
                        store._heldKeys.Remove(key);
                    }
                }
                _keys.Clear();
            }
        }
    }

    /// <summary>
    /// Removes the build cache's entries (those made before <paramref name="createdBefore"/>, or all),
    /// except the ones a build in flight holds and the ones a build sandbox's root is made from; returns how many.
    /// </summary>
    public int PruneBuildCache(DateTimeOffset? createdBefore)
    {
        lock (_holdsLock)
        {
            using var db = Connect();
            using var tx = db.BeginTransaction(System.Data.IsolationLevel.Serializable);
            var keep = new HashSet<string>(_heldKeys.Keys, StringComparer.Ordinal);
            foreach (var reference in SandboxTemplates(db, tx).Where(r => r.StartsWith(BuildReferencePrefix, StringComparison.Ordinal)))
            {
                keep.Add(reference[BuildReferencePrefix.Length..]);
            }
            var removed = 0;
            var doomed = new List<string>();
            using (var select = Sql.Command(db, tx, "SELECT key, created_at FROM template_build_cache"))
            using (var reader = select.ExecuteReader())
            {
                while (reader.Read())
                {
                    var key = reader.GetString(0);
                    if (!keep.Contains(key) && (createdBefore is null || DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture) < createdBefore))
                    {
                        doomed.Add(key);
                    }
                }
            }
            foreach (var key in doomed)
            {
                using var delete = Sql.Command(db, tx, "DELETE FROM template_build_cache WHERE key = $k", ("$k", key));
                removed += delete.ExecuteNonQuery();
            }
            tx.Commit();
            return removed;
        }
    }

    /// <summary>The template references of every sandbox not deleted (pooled ones too); none when the sandboxes' table is not in this database.</summary>
    private static List<string> SandboxTemplates(SqliteConnection db, SqliteTransaction tx)
    {
        using (var exists = Sql.Command(db, tx, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sandboxes'"))
        {
            if ((long)exists.ExecuteScalar()! == 0)
            {
                return [];
            }
        }
        using var cmd = Sql.Command(db, tx, "SELECT DISTINCT template FROM sandboxes WHERE template IS NOT NULL AND state != 'deleted'");
        using var reader = cmd.ExecuteReader();
        var references = new List<string>();
        while (reader.Read())
        {
            references.Add(reader.GetString(0));
        }
        return references;
    }

    /// <summary>The state after a build step (its layers so far and settings), kept under the step's cache key.</summary>
    public void PutBuildState(string key, TemplateManifest manifest)
    {
        using var db = Connect();
        using var insert = Sql.Command(db, null, "INSERT OR IGNORE INTO template_build_cache (key, manifest, created_at) VALUES ($k, $m, $c)",
            ("$k", key), ("$m", JsonSerializer.Serialize(manifest, RegistryJsonContext.Default.TemplateManifest)),
            ("$c", _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)));
        insert.ExecuteNonQuery();
    }

    /// <summary>The state a build step left under <paramref name="key"/>, or null when the cache has none.</summary>
    public TemplateManifest? GetBuildState(string key)
    {
        using var db = Connect();
        using var cmd = Sql.Command(db, null, "SELECT manifest FROM template_build_cache WHERE key = $k", ("$k", key));
        return cmd.ExecuteScalar() is string json ? JsonSerializer.Deserialize(json, RegistryJsonContext.Default.TemplateManifest) : null;
    }

    /// <summary>
    /// A template's version, or a build step's state for an internal "@build:KEY" reference (build
    /// sandboxes only: a sandbox's row is the only place such a reference comes from).
    /// </summary>
    public TemplateRecord ResolveStored(string reference)
    {
        if (reference.StartsWith(BuildReferencePrefix, StringComparison.Ordinal))
        {
            var key = reference[BuildReferencePrefix.Length..];
            var manifest = GetBuildState(key) ?? throw new HutchException(ErrorCodes.TemplateNotFound, $"the build cache has no step {key}: build again");
            return new TemplateRecord("@build", key, manifest.Digest(), "build", _time.GetUtcNow(), manifest);
        }
        var (name, version) = ParseReference(reference);
        return Get(name, version);
    }

    /// <summary>Checks a template reference, "NAME" or "NAME:VERSION", and splits it.</summary>
    public static (string Name, string? Version) ParseReference(string reference, string field = "template")
    {
        var colon = reference.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? reference : reference[..colon];
        var version = colon < 0 ? null : reference[(colon + 1)..];
        CheckName(name, field);
        if (version is not null)
        {
            CheckVersion(version, field);
        }
        return (name, version);
    }

    public static void CheckName(string name, string field = "name")
    {
        if (!NamePattern().IsMatch(name))
        {
            throw new HutchException(ErrorCodes.InvalidTemplate,
                $"{field}: template name '{Shown(name)}' is not 1-63 of [a-z0-9._-] starting with a letter or digit (e.g. 'python', 'debian')");
        }
    }

    public static void CheckVersion(string version, string field = "version")
    {
        if (!VersionPattern().IsMatch(version))
        {
            throw new HutchException(ErrorCodes.InvalidTemplate,
                $"{field}: template version '{Shown(version)}' is not 1-64 of [A-Za-z0-9._-] starting with a letter or digit (e.g. '3', 'bookworm')");
        }
    }

    /// <summary>
    /// Records a new version; with no version given, the next number. The same NAME:VERSION again with
    /// the same content is the existing one (an import retried); with other content, template_exists.
    /// </summary>
    public TemplateRecord Add(string name, string? version, string source, TemplateManifest manifest)
    {
        CheckName(name);
        if (version is not null)
        {
            CheckVersion(version);
        }
        var digest = manifest.Digest();
        using var db = Connect();
        using var tx = db.BeginTransaction(System.Data.IsolationLevel.Serializable);
        version ??= NextVersion(db, tx, name);
        if (Find(db, tx, name, version) is { } existing)
        {
            return existing.Digest == digest ? existing : throw new HutchException(ErrorCodes.TemplateExists,
                $"template {name}:{version} exists with other content ({existing.Digest}); versions never change: give another version, or none for the next number");
        }
        var record = new TemplateRecord(name, version, digest, source, _time.GetUtcNow(), manifest);
        using (var insert = Sql.Command(db, tx, "INSERT INTO templates (name, version, digest, source, created_at, manifest) VALUES ($n, $v, $d, $s, $c, $m)",
            ("$n", name), ("$v", version), ("$d", digest), ("$s", source), ("$c", record.CreatedAt.ToString("O", CultureInfo.InvariantCulture)),
            ("$m", JsonSerializer.Serialize(manifest, RegistryJsonContext.Default.TemplateManifest))))
        {
            insert.ExecuteNonQuery();
        }
        tx.Commit();
        return record;
    }

    /// <summary>The version named, or the newest one without a version; throws template_not_found.</summary>
    public TemplateRecord Get(string name, string? version)
    {
        using var db = Connect();
        return (version is null ? Newest(db, name) : Find(db, null, name, version))
            ?? throw new HutchException(ErrorCodes.TemplateNotFound, version is null
                ? $"no template named '{name}': `hutch template ls` lists them (docs/templates.md says how one is made)"
                : $"template '{name}' has no version '{version}': `hutch template ls` lists its versions");
    }

    /// <summary>Every version of every template, newest first.</summary>
    public IReadOnlyList<TemplateRecord> List()
    {
        using var db = Connect();
        return Query(db, null, "SELECT * FROM templates ORDER BY created_at DESC, name, version");
    }

    /// <summary>
    /// Removes a version (or every version without one); template_in_use, removing nothing, while a
    /// sandbox (or the warm pool) has its root from one. The check and the removal are one
    /// transaction, and a sandbox's row names its template before its root is mounted (which reads
    /// the template again): so no sandbox ever runs on a version removed, and its layers can go.
    /// </summary>
    public IReadOnlyList<TemplateRecord> Remove(string name, string? version)
    {
        using var db = Connect();
        using var tx = db.BeginTransaction(System.Data.IsolationLevel.Serializable);
        var removed = version is null
            ? Query(db, tx, "SELECT * FROM templates WHERE name = $n", ("$n", name))
            : Find(db, tx, name, version) is { } one ? [one] : [];
        if (removed.Count == 0)
        {
            throw new HutchException(ErrorCodes.TemplateNotFound, $"no template {name}{(version is null ? "" : ":" + version)}");
        }
        var used = SandboxTemplates(db, tx).ToHashSet(StringComparer.Ordinal);
        if (removed.Where(r => used.Contains(r.Reference)).Select(r => r.Reference).ToList() is { Count: > 0 } inUse)
        {
            throw new HutchException(ErrorCodes.TemplateInUse,
                $"sandboxes (or the warm pool, HUTCH_WARM_POOL_TEMPLATES) have their root from {string.Join(", ", inUse)}: delete them first (`hutch info ID` shows a sandbox's template)");
        }
        foreach (var record in removed)
        {
            using var delete = Sql.Command(db, tx, "DELETE FROM templates WHERE name = $n AND version = $v", ("$n", record.Name), ("$v", record.Version));
            delete.ExecuteNonQuery();
        }
        tx.Commit();
        return removed;
    }

    /// <summary>Every layer some version or build cache entry still names (what the layer store must keep; the roots of running sandboxes are among them).</summary>
    public HashSet<string> LayersInUse()
    {
        var layers = List().SelectMany(t => t.Manifest.Layers).ToHashSet(StringComparer.Ordinal);
        using var db = Connect();
        using var cmd = Sql.Command(db, null, "SELECT manifest FROM template_build_cache");
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            layers.UnionWith(JsonSerializer.Deserialize(reader.GetString(0), RegistryJsonContext.Default.TemplateManifest)!.Layers);
        }
        return layers;
    }

    private static string NextVersion(SqliteConnection db, SqliteTransaction tx, string name)
    {
        var highest = 0L;
        foreach (var record in Query(db, tx, "SELECT * FROM templates WHERE name = $n", ("$n", name)))
        {
            if (long.TryParse(record.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                highest = Math.Max(highest, number);
            }
        }
        return (highest + 1).ToString(CultureInfo.InvariantCulture);
    }

    private static TemplateRecord? Newest(SqliteConnection db, string name) =>
        Query(db, null, "SELECT * FROM templates WHERE name = $n ORDER BY created_at DESC, rowid DESC LIMIT 1", ("$n", name)).FirstOrDefault();

    private static TemplateRecord? Find(SqliteConnection db, SqliteTransaction? tx, string name, string version) =>
        Query(db, tx, "SELECT * FROM templates WHERE name = $n AND version = $v", ("$n", name), ("$v", version)).FirstOrDefault();

    private static List<TemplateRecord> Query(SqliteConnection db, SqliteTransaction? tx, string sql, params (string, object?)[] args)
    {
        using var cmd = Sql.Command(db, tx, sql, args);
        using var reader = cmd.ExecuteReader();
        var rows = new List<TemplateRecord>();
        while (reader.Read())
        {
            string Text(string column) => reader.GetString(reader.GetOrdinal(column));
            rows.Add(new TemplateRecord(Text("name"), Text("version"), Text("digest"), Text("source"),
                DateTimeOffset.Parse(Text("created_at"), CultureInfo.InvariantCulture),
                JsonSerializer.Deserialize(Text("manifest"), RegistryJsonContext.Default.TemplateManifest)!));
        }
        return rows;
    }

    private SqliteConnection Connect() => Sql.Open(_connectionString);

    /// <summary>A refused name as shown back: at most 80 characters, control characters escaped.</summary>
    private static string Shown(string text) =>
        string.Concat(text.Take(80).Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,62}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex VersionPattern();
}
