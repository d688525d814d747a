using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Hutch.Protocol.Api;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Artifacts;

/// <summary>Where an S3 store is and how to sign for it.</summary>
/// <param name="Endpoint">The service's URL (any S3-compatible server); null: AWS's own for <paramref name="Region"/>.</param>
/// <param name="Prefix">Prepended to every key (e.g. "hutch/"), so one bucket can hold several daemons' stores.</param>
/// <param name="PathStyle">Bucket in the path (http://host/bucket/key), as most self-hosted servers want, instead of in the host name.</param>
public sealed record S3StoreOptions(string Bucket, string? Endpoint = null, string Region = "us-east-1", string Prefix = "", bool PathStyle = true,
    string? AccessKey = null, string? SecretKey = null);

/// <summary>
/// Artifacts in S3-compatible object storage through AWSSDK.S3: blobs under <c>PREFIX/blobs/&lt;sha256&gt;</c>
/// (a HEAD first, so equal content is uploaded once), manifests under
/// <c>PREFIX/sets/&lt;set&gt;/manifest.json</c>, signed like the local store's, links presigned by S3.
/// </summary>
/// <remarks>
/// There are no directories to swap here: a set's identity is (0, 0), and deleting a set deletes its
/// manifest (the blobs it referenced stay until a prune, since other sets may hold the same content).
/// The SDK's optional checksums are asked for only where S3 requires them, so servers without
/// aws-chunked uploads (most self-hosted ones) accept every request.
/// </remarks>
public sealed class S3ArtifactStore : IArtifactStore, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly S3StoreOptions _options;
    private readonly byte[] _key;

    public S3ArtifactStore(S3StoreOptions options, byte[] manifestKey)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(manifestKey.Length, 32);
        _options = options;
        _key = manifestKey;
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.PathStyle,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 2,
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (options.Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        }
        _client = options.AccessKey is { } access && options.SecretKey is { } secret
            ? new AmazonS3Client(new BasicAWSCredentials(access, secret), config)
            : new AmazonS3Client(config);
    }

    public string Kind => "s3";

    /// <summary>The most bytes one blob may have (HUTCH_ARTIFACT_MAX_BYTES); a larger file is artifact_too_large.</summary>
    public long MaxBytes { get; init; } = long.MaxValue;

    public void Dispose() => _client.Dispose();

    public async Task<BlobRef> PutAsync(SafeFileHandle source, CancellationToken cancellationToken)
    {
        BlobContent.CheckSize(RandomAccess.GetLength(source), MaxBytes);
        var (sha256, size) = await BlobContent.HashAsync(source, MaxBytes, cancellationToken).ConfigureAwait(false);
        var key = BlobKey(sha256);
        await GuardAsync(async () =>
        {
            if (await ExistsAsync(key, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
            // Seekable, so the SDK signs the payload's hash in one header instead of aws-chunked
            // signatures, which self-hosted servers store as content. The file is a sandbox's and may
            // change while it is sent: the key is the hash read before, and the object is stored under
            // it only because the server checks the bytes it gets against x-amz-checksum-sha256 (S3
            // does; a server that does not is trusted with that; docs/artifacts.md "Stores").
            using var content = new FileStream(new SafeFileHandle(source.DangerousGetHandle(), ownsHandle: false), FileAccess.Read, bufferSize: 0);
            await _client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = _options.Bucket,
                Key = key,
                InputStream = content,
                AutoCloseStream = false,
                UseChunkEncoding = false,
                ContentType = "application/octet-stream",
                ChecksumSHA256 = Convert.ToBase64String(Convert.FromHexString(sha256)),
            }, cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return new BlobRef(sha256, size);
    }

    public async Task<Stream> OpenAsync(string sha256, CancellationToken cancellationToken)
    {
        if (!BlobRef.IsValid(sha256))
        {
            throw new ArtifactException(ErrorCodes.ArtifactNotFound, $"No such artifact: '{sha256}' is not a SHA-256 in hex.");
        }
        return await GuardAsync(async () =>
        {
            try
            {
                var response = await _client.GetObjectAsync(_options.Bucket, BlobKey(sha256), cancellationToken).ConfigureAwait(false);
                return response.ResponseStream;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                throw new ArtifactException(ErrorCodes.ArtifactNotFound, $"No such artifact: the store holds no blob {sha256}.", e);
            }
        }).ConfigureAwait(false);
    }

    public Task<SetIdentity> CreateSetAsync(string set, CancellationToken cancellationToken)
    {
        LocalArtifactStore.CheckSetName(set);
        return Task.FromResult(default(SetIdentity));
    }

    public Task WriteManifestAsync(ArtifactManifest manifest, SetIdentity identity, CancellationToken cancellationToken) =>
        GuardAsync(async () =>
        {
            LocalArtifactStore.CheckSetName(manifest.Set);
            using var body = new MemoryStream(manifest.ToSignedJson(_key));
            // One PUT replaces an object whole: a reader sees the old manifest or the new one.
            await _client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = _options.Bucket, Key = ManifestKey(manifest.Set), InputStream = body, UseChunkEncoding = false, ContentType = "application/json",
            }, cancellationToken).ConfigureAwait(false);
            return 0;
        });

    public Task<ArtifactManifest?> ReadManifestAsync(string set, CancellationToken cancellationToken) =>
        GuardAsync(async () =>
        {
            LocalArtifactStore.CheckSetName(set);
            try
            {
                using var response = await _client.GetObjectAsync(_options.Bucket, ManifestKey(set), cancellationToken).ConfigureAwait(false);
                using var bytes = new MemoryStream();
                await response.ResponseStream.CopyToAsync(bytes, cancellationToken).ConfigureAwait(false);
                return (ArtifactManifest?)ArtifactManifest.FromSignedJson(bytes.ToArray(), set, _key);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        });

    /// <summary>Nothing to remove: a manifest or blob is one PUT, there or not, and the store has no per-set files.</summary>
    public Task RemoveLeftoversAsync(string set, SetIdentity identity, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task<IReadOnlyList<string>> DeleteSetAsync(string set, SetIdentity identity, CancellationToken cancellationToken)
    {
        var manifest = await ReadManifestAsync(set, cancellationToken).ConfigureAwait(false);
        await GuardAsync(async () => await _client.DeleteObjectAsync(_options.Bucket, ManifestKey(set), cancellationToken).ConfigureAwait(false))
            .ConfigureAwait(false);
        return manifest is null ? [] : [.. manifest.Entries.OrderByDescending(e => e.Created).Select(e => e.Path)];
    }

    /// <summary>
    /// Lists the prefix's blobs (the prefix is this daemon's alone), then deletes each one
    /// <paramref name="referenced"/> does not hold: the whole listing first, so no delete ever runs
    /// under a listing that is still being continued.
    /// </summary>
    public async Task<(int Blobs, long Bytes)> PruneAsync(IReadOnlySet<string> referenced, CancellationToken cancellationToken)
    {
        var prefix = BlobKey("");
        var unnamed = new List<(string Key, long Size)>();
        string? next = null;
        do
        {
            var page = await GuardAsync(async () => await _client.ListObjectsV2Async(
                new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = prefix, ContinuationToken = next }, cancellationToken).ConfigureAwait(false))
                .ConfigureAwait(false);
            unnamed.AddRange((page.S3Objects ?? []).Where(o => BlobRef.IsValid(o.Key[prefix.Length..]) && !referenced.Contains(o.Key[prefix.Length..]))
                .Select(o => (o.Key, o.Size ?? 0)));
            next = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (next is not null);
        foreach (var (key, _) in unnamed)
        {
            await GuardAsync(async () => await _client.DeleteObjectAsync(_options.Bucket, key, cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        }
        return (unnamed.Count, unnamed.Sum(o => o.Size));
    }

    public Uri? PresignedUrl(string sha256, string fileName, TimeSpan expiry)
    {
        var request = new GetPreSignedUrlRequest
        {
            BucketName = _options.Bucket,
            Key = BlobKey(sha256),
            Verb = HttpVerb.GET,
            Expires = DateTime.UtcNow + expiry,
            Protocol = _options.Endpoint is { } e && e.StartsWith("http://", StringComparison.OrdinalIgnoreCase) ? Amazon.S3.Protocol.HTTP : Amazon.S3.Protocol.HTTPS,
        };
        request.ResponseHeaderOverrides.ContentDisposition = ContentDisposition.Attachment(fileName);
        return new Uri(_client.GetPreSignedURL(request));
    }

    private async Task<bool> ExistsAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await _client.GetObjectMetadataAsync(_options.Bucket, key, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    private string BlobKey(string sha256) => $"{_options.Prefix}blobs/{sha256}";

    private string ManifestKey(string set) => $"{_options.Prefix}sets/{set}/manifest.json";

    /// <summary>An unreachable or failing store is artifact_store_unavailable (the daemon keeps the artifact pending and retries).</summary>
    private async Task<T> GuardAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException or TaskCanceledException { CancellationToken.IsCancellationRequested: false })
        {
            throw new ArtifactException(ErrorCodes.ArtifactStoreUnavailable, $"The S3 artifact store ({_options.Endpoint ?? _options.Region}, bucket {_options.Bucket}) did not take the request: {e.Message}", e);
        }
    }

    private Task GuardAsync(Func<Task> call) => GuardAsync(async () =>
    {
        await call().ConfigureAwait(false);
        return 0;
    });
}
