using System.Net;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Hutch.Artifacts;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Artifacts;

/// <summary>The S3 store against a real S3-compatible server (s3rver) on loopback: uploads, dedupe, signed manifests, presigned links.</summary>
public sealed class S3ArtifactStoreTests(S3Server server) : IClassFixture<S3Server>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hutch-s3-src-").FullName;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private S3ArtifactStore Store(string prefix, string? endpoint = null) =>
        new(new S3StoreOptions(S3Server.Bucket, endpoint ?? server.Endpoint, Prefix: prefix, AccessKey: S3Server.AccessKey, SecretKey: S3Server.SecretKey), _key);

    private AmazonS3Client Raw() => new(S3Server.AccessKey, S3Server.SecretKey, new AmazonS3Config { ServiceURL = server.Endpoint, ForcePathStyle = true,
        RequestChecksumCalculation = Amazon.Runtime.RequestChecksumCalculation.WHEN_REQUIRED });

    private async Task<BlobRef> PutAsync(S3ArtifactStore store, byte[] bytes)
    {
        var path = Path.Join(_dir, Guid.NewGuid().ToString("N"));
        await File.WriteAllBytesAsync(path, bytes);
        using var source = File.OpenHandle(path);
        return await store.PutAsync(source, default);
    }

    [Fact]
    public async Task Blobs_AreStoredOnceByContent_AndReadBack()
    {
        using var store = Store("dedupe/");
        var bytes = RandomNumberGenerator.GetBytes(3 << 20);

        var first = await PutAsync(store, bytes);
        var second = await PutAsync(store, bytes);
        using var raw = Raw();
        var listed = await raw.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3Server.Bucket, Prefix = "dedupe/" });
        using var read = await store.OpenAsync(first.Sha256, default);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);

        Assert.Equal(first, second);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), first.Sha256);
        Assert.Equal(["dedupe/blobs/" + first.Sha256], listed.S3Objects.Select(o => o.Key));
        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task AManifest_RoundTrips_AndAnEditedOneIsRefused()
    {
        using var store = Store("manifests/");
        var blob = await PutAsync(store, "a,b\n1,2\n"u8.ToArray());
        var manifest = ArtifactManifest.Empty("session:chat-9")
            .With(new ManifestEntry("out/table.csv", "output", blob.Size, blob.Sha256, DateTimeOffset.UnixEpoch));
        await store.WriteManifestAsync(manifest, default, default);

        var read = await store.ReadManifestAsync("session:chat-9", default);
        using var raw = Raw();
        using var body = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(
            System.Text.Encoding.UTF8.GetString(manifest.ToSignedJson(_key)).Replace("out/table.csv", "out/other.csv", StringComparison.Ordinal)));
        await raw.PutObjectAsync(new PutObjectRequest { BucketName = S3Server.Bucket, Key = "manifests/sets/session:chat-9/manifest.json", InputStream = body });
        var edited = await Assert.ThrowsAsync<ArtifactException>(() => store.ReadManifestAsync("session:chat-9", default));
        var none = await store.ReadManifestAsync("sb-none", default);

        Assert.Equal(["out/table.csv"], read!.Entries.Select(e => e.Path));
        Assert.Equal(ErrorCodes.ArtifactManifestInvalid, edited.Code);
        Assert.Null(none);
    }

    [Fact]
    public async Task APresignedLink_OpensWithAPlainClient_AsAnAttachment_UntilItExpires()
    {
        using var store = Store("links/");
        var blob = await PutAsync(store, "<html><script>alert(1)</script></html>"u8.ToArray());
        using var http = new HttpClient();

        var url = store.PresignedUrl(blob.Sha256, "report \"q1\".html", TimeSpan.FromMinutes(5))!;
        using var response = await http.GetAsync(url);
        var shortLived = store.PresignedUrl(blob.Sha256, "x.html", TimeSpan.FromSeconds(1))!;
        await Task.Delay(2500);
        using var expired = await http.GetAsync(shortLived);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("<html><script>alert(1)</script></html>", await response.Content.ReadAsStringAsync());
        Assert.StartsWith("attachment;", response.Content.Headers.ContentDisposition?.ToString() ?? "");
        Assert.Equal(HttpStatusCode.Forbidden, expired.StatusCode);
    }

    [Fact]
    public async Task AnUnreachableStore_IsArtifactStoreUnavailable()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var closed = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
        probe.Stop();
        using var store = Store("down/", closed);

        var error = await Assert.ThrowsAsync<ArtifactException>(() => PutAsync(store, "x"u8.ToArray()));

        Assert.Equal(ErrorCodes.ArtifactStoreUnavailable, error.Code);
    }
}
