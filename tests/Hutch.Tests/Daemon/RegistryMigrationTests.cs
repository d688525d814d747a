using Hutch.Daemon.Registry;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Hutch.Tests.Daemon;

/// <summary>A registry.db written by an older daemon opens, keeps its rows and gains the new columns.</summary>
[Trait("Category", "Unit")]
public sealed class RegistryMigrationTests : IDisposable
{
    private readonly string _dir = TestPaths.NewTempDir("hutch-reg");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ARegistryOfTheFirstRelease_IsMigrated_AndTakesLabelsAndExpiry()
    {
        var path = Path.Join(_dir, "registry.db");
        using (var db = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE sandboxes (id TEXT PRIMARY KEY, name TEXT, state TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT,
                    user TEXT NOT NULL, cwd TEXT NOT NULL, env TEXT NOT NULL, limits TEXT NOT NULL, host_id_base INTEGER NOT NULL,
                    host_workspace TEXT, owner TEXT NOT NULL, deleted_at TEXT);
                INSERT INTO sandboxes VALUES ('sb-old', 'old', 'running', '2026-01-01T00:00:00.0000000+00:00', NULL, 'user', '/workspace', '{}', '{}', 1000000, NULL, 'daemon', NULL);
                """;
            cmd.ExecuteNonQuery();
        }

        var registry = new SandboxRegistry(path);

        var old = registry.Find("old")!;
        Assert.Null(old.Labels);
        Assert.Null(old.Deadline);
        Assert.True(registry.SetExpiry(old.Id, DateTimeOffset.UtcNow.AddHours(1), TtlDeadline.After(3600)));
        Assert.NotNull(registry.Find("old")!.Deadline);
        var at = DateTimeOffset.Parse("2026-02-03T04:05:06Z", System.Globalization.CultureInfo.InvariantCulture);
        registry.MarkDeleted(old.Id, at, SandboxRegistry.ExpiredReason);
        Assert.Equal(at, registry.ExpiredAt("old"));
        Assert.Equal(at, registry.ExpiredAt("sb-old"));
        Assert.False(registry.SetExpiry(old.Id, DateTimeOffset.UtcNow.AddHours(1), TtlDeadline.After(3600)));

        var labelled = registry.Insert(new SandboxRecord("sb-new", null, SandboxStates.Running, DateTimeOffset.UtcNow, null, "user", "/workspace",
            [], new SandboxLimits(), 0, null, "daemon", Labels: new() { ["team"] = "a" }), 1_000_000, 65536, null);
        Assert.Equal("a", registry.Find(labelled.Id)!.Labels!["team"]);
        Assert.Null(registry.ExpiredAt(labelled.Id));
    }
}
