using System.Diagnostics;
using System.Text.RegularExpressions;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Artifacts;

/// <summary>
/// A real S3-compatible server for the tests: s3rver (npm, eng/npm-tools) on a loopback port of its
/// choosing, with one bucket, its data in a temporary directory; stopped and removed with the fixture.
/// Its default credentials are S3RVER/S3RVER, and it checks SigV4 signatures.
/// </summary>
public sealed partial class S3Server : IAsyncLifetime
{
    public const string Bucket = "hutch-test";
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly string _data = Directory.CreateTempSubdirectory("hutch-s3rver-").FullName;
    private Process? _process;

    public string Endpoint { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var tools = await NpmTools.DirectoryAsync();
        // --openssl-legacy-provider: s3rver makes its ListObjectsV2 continuation tokens with DES, which
        // OpenSSL 3 (Node 17 and later) leaves out by default; without it a listing of over 1000 keys is a 500.
        var start = new ProcessStartInfo("node", ["--openssl-legacy-provider", Path.Join(tools, "node_modules", "s3rver", "bin", "s3rver.js"), "-d", _data, "-a", "127.0.0.1", "-p", "0",
            "--configure-bucket", Bucket, "--no-vhost-buckets", "--silent"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        _process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await _process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (Listening().Match(line) is { Success: true } match)
            {
                Endpoint = $"http://127.0.0.1:{match.Groups[1].Value}";
                return;
            }
        }
        throw new InvalidOperationException($"s3rver did not start: {await _process.StandardError.ReadToEndAsync()}");
    }

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        Directory.Delete(_data, recursive: true);
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex Listening();
}
