using System.Text;
using Hutch.Daemon;
using Hutch.Daemon.Secrets;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Microsoft.Data.Sqlite;

namespace Hutch.Tests.Secrets;

/// <summary>The store on its own: values sealed at rest and bound to name and version, what bad input gets, what a lost key means.</summary>
[Trait("Category", "Unit")]
public sealed class SecretStoreTests : IDisposable
{
    private const string Value = "sk-test-0123456789-abcdef";
    private readonly string _dir = TestPaths.NewTempDir("hutch-secrets");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Db => Path.Join(_dir, "registry.db");

    private string KeyFile => Path.Join(_dir, "secrets.key");

    private SecretStore NewStore(string? keyFile = null) => new(Db, new SecretCipher(keyFile ?? KeyFile, operatorKey: keyFile is not null), TimeProvider.System);

    [Fact]
    public void AValue_IsSealedAtRest_OpensOnlyWithItsKey_AndEachVersionIsKept()
    {
        var store = NewStore();
        var created = store.Create(new CreateSecretRequest("API_KEY", Value, Description: "for tests", Hosts: ["API.example.org", "*.example.org:8443"]));
        var rotated = store.Rotate("API_KEY", new RotateSecretRequest(ValueBase64: Convert.ToBase64String("second-value-xyz"u8)));

        Assert.Equal((1, (DateTimeOffset?)null), (created.Version, created.RotatedAt));
        Assert.Equal(["api.example.org", "*.example.org:8443"], created.Hosts);
        Assert.Equal(2, rotated.Version);
        Assert.NotNull(rotated.RotatedAt);
        Assert.Equal(Value, Encoding.UTF8.GetString(NewStore().Open("API_KEY", 1)));
        Assert.Equal("second-value-xyz", Encoding.UTF8.GetString(NewStore().Open("API_KEY")));
        // Nowhere in the database file (or its WAL) in the clear; the key file is root's alone.
        foreach (var file in Directory.GetFiles(_dir, "registry.db*"))
        {
            Assert.DoesNotContain(Value, Encoding.Latin1.GetString(File.ReadAllBytes(file)), StringComparison.Ordinal);
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyFile));
    }

    [Fact]
    public void ARowMovedUnderAnotherName_DoesNotOpen_AndAnotherKeyIsSaidPlainly()
    {
        var store = NewStore();
        store.Create(new CreateSecretRequest("FIRST", Value));
        store.Create(new CreateSecretRequest("SECOND", "another-value-123"));
        using (var db = new SqliteConnection($"Data Source={Db}"))
        {
            db.Open();
            using var swap = db.CreateCommand();
            // An attacker with the database but not the key copies FIRST's sealed value over SECOND's.
            swap.CommandText = "UPDATE secret_versions SET nonce = (SELECT nonce FROM secret_versions WHERE name = 'FIRST'), "
                + "ciphertext = (SELECT ciphertext FROM secret_versions WHERE name = 'FIRST'), tag = (SELECT tag FROM secret_versions WHERE name = 'FIRST') WHERE name = 'SECOND'";
            swap.ExecuteNonQuery();
        }
        var moved = Assert.Throws<HutchException>(() => store.Open("SECOND"));
        File.WriteAllText(KeyFile, Convert.ToBase64String(new byte[32]) + "\n");
        var otherKey = Assert.Throws<HutchException>(() => NewStore().Open("FIRST"));

        Assert.Equal(ErrorCodes.SecretsUnavailable, moved.Code);
        Assert.Contains("does not open", moved.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCodes.SecretsUnavailable, otherKey.Code);
        Assert.Contains("is not the key the secret FIRST was stored with", otherKey.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnOperatorKeyFile_ReadableByOthers_IsRefused()
    {
        var file = Path.Join(_dir, "operator.key");
        File.WriteAllText(file, Convert.ToBase64String(new byte[32]));
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var refused = Assert.Throws<HutchException>(() => NewStore(file).Create(new CreateSecretRequest("X_KEY", Value)));

        Assert.Equal(ErrorCodes.SecretsUnavailable, refused.Code);
        Assert.Contains("chmod 600", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lower", Value, null, null, "name:")]
    [InlineData("9LIVES", Value, null, null, "name:")]
    [InlineData("OK_NAME", "short", null, null, "at least 8 bytes")]
    [InlineData("OK_NAME", null, null, null, "exactly one of value")]
    [InlineData("OK_NAME", Value, "aGVsbG8gd29ybGQ=", null, "exactly one of value")]
    [InlineData("OK_NAME", null, "not base64!", null, "valueBase64: not valid base64")]
    [InlineData("OK_NAME", Value, null, "10.0.0.1", "hosts[0]: '10.0.0.1' is an address")]
    [InlineData("OK_NAME", Value, null, "*", "hosts[0]:")]
    public void BadInput_NamesTheField_AndNeverTheValue(string name, string? value, string? base64, string? host, string why)
    {
        var store = NewStore();

        var refused = Assert.Throws<HutchException>(() => store.Create(new CreateSecretRequest(name, value, base64, Hosts: host is null ? null : [host])));

        Assert.Equal(ErrorCodes.InvalidSecret, refused.Code);
        Assert.Contains(why, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Value, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Substitute_DefaultsToHeaders_TakesQueryAndBody_AndRefusesOtherPlacesAndSecretsWithoutHosts()
    {
        var store = NewStore();

        var plain = store.Create(new CreateSecretRequest("PLAIN_KEY", Value, Hosts: ["api.example.org"]));
        var query = store.Create(new CreateSecretRequest("QUERY_KEY", Value, Hosts: ["api.example.org"], Substitute: ["query", "header", "query"]));
        var body = store.Create(new CreateSecretRequest("BODY_KEY", Value, Hosts: ["api.example.org"], Substitute: ["body"]));
        var cookie = Assert.Throws<HutchException>(() => store.Create(new CreateSecretRequest("COOKIE_KEY", Value, Hosts: ["api.example.org"], Substitute: ["header", "cookie"])));
        var noHosts = Assert.Throws<HutchException>(() => store.Create(new CreateSecretRequest("NO_HOSTS", Value, Substitute: ["body"])));

        Assert.Equal(["header"], plain.Substitute!);
        Assert.Equal(["query", "header"], query.Substitute!);
        Assert.Equal(["query", "header"], store.Get("QUERY_KEY").Substitute!);
        Assert.Equal(["body"], body.Substitute!);
        Assert.Equal(["body"], store.Get("BODY_KEY").Substitute!);
        Assert.Contains("substitute[1]: 'cookie' is not one of header, query, body", cookie.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCodes.InvalidSecret, noHosts.Code);
    }

    [Fact]
    public void TooLong_ExistingAndMissing_AreRefusedWithTheirCodes()
    {
        var store = NewStore();
        store.Create(new CreateSecretRequest("TAKEN", Value));

        Assert.Equal(ErrorCodes.InvalidSecret, Assert.Throws<HutchException>(() => store.Create(new CreateSecretRequest("BIG", new string('x', 65 * 1024)))).Code);
        Assert.Equal(ErrorCodes.SecretExists, Assert.Throws<HutchException>(() => store.Create(new CreateSecretRequest("TAKEN", Value))).Code);
        Assert.Equal(ErrorCodes.SecretNotFound, Assert.Throws<HutchException>(() => store.Get("MISSING")).Code);
        Assert.Equal(ErrorCodes.SecretNotFound, Assert.Throws<HutchException>(() => store.Rotate("MISSING", new RotateSecretRequest(Value))).Code);
        Assert.Equal(ErrorCodes.SecretNotFound, Assert.Throws<HutchException>(() => store.Delete("../etc")).Code);
        store.Delete("TAKEN");
        Assert.Empty(store.List());
        Assert.Equal(ErrorCodes.SecretNotFound, Assert.Throws<HutchException>(() => store.Open("TAKEN")).Code);
    }
}
