using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// A daemon whose data dir is a 400 MiB tmpfs, so its disk can be filled: the workspaces' XFS volume
/// (a sparse image, as on any host whose file system has no reflinks) is ~300 MiB, and a test can
/// also fill the tmpfs under it, leaving the volume space it cannot really write.
/// </summary>
public sealed class SmallDiskDaemonFixture : IAsyncLifetime
{
    public string DataDir { get; } = TestPaths.NewTempDir("hutch-small");
    public RunningDaemon Daemon { get; private set; } = null!;
    public HutchClient Client { get; private set; } = null!;
    public string ApiKey { get; private set; } = "";

    public string Workspaces => Path.Join(DataDir, "workspaces");

    public async Task InitializeAsync()
    {
        Run("mount", "-t", "tmpfs", "-o", "size=400m", "tmpfs", DataDir);
        // XFS, as on a host without btrfs: its write-back failure on a full disk is what these tests meet
        // (btrfs refuses new subvolumes once its image's disk is full). The daemon uses the volume as is.
        Hutch.Files.Checkpoints.WorkspaceVolume.Ensure(Workspaces, new Hutch.Files.Checkpoints.WorkspaceVolumeOptions { FileSystem = Hutch.Files.Checkpoints.WorkspaceFileSystem.Xfs });
        var options = new HutchOptions { DataDir = DataDir, Url = "http://127.0.0.1:0", AgentPath = TestPaths.Agent, WarmPool = 0 };
        Daemon = await DaemonHost.StartAsync(options);
        ApiKey = (await File.ReadAllTextAsync(options.ApiKeyFile)).Trim();
        Client = new HutchClient(new Uri(Daemon.Url), ApiKey);
    }

    /// <summary>Fills the data dir's own disk (under the workspaces' volume) up to <paramref name="leave"/> bytes; dispose to free it.</summary>
    public IDisposable FillHostDisk(long leave)
    {
        var filler = Path.Join(DataDir, "filler");
        var free = new DriveInfo(DataDir).AvailableFreeSpace;
        Run("fallocate", "-l", (free - leave).ToString(System.Globalization.CultureInfo.InvariantCulture), filler);
        return new Deleting(filler);
    }

    public async Task DisposeAsync()
    {
        foreach (var sandbox in await Client.ListSandboxesAsync())
        {
            await Client.DeleteSandboxAsync(sandbox.Id);
        }
        Client.Dispose();
        await Daemon.DisposeAsync();
        // Lazily: the registry stays open in SQLite's connection pool. The workspaces' volume goes with it if still mounted.
        Run("umount", "--lazy", "--recursive", DataDir);
        Directory.Delete(DataDir);
    }

    internal static void Run(string program, params string[] args)
    {
        using var process = Process.Start(program, args);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
    }

    private sealed class Deleting(string path) : IDisposable
    {
        public void Dispose() => File.Delete(path);
    }
}

/// <summary>
/// An upload is acknowledged only when every byte sent is in the file, on disk: a full disk or a body
/// that ends early is an error, and the file it would have replaced stays as it was.
/// </summary>
public sealed class UploadDurabilityTests(SmallDiskDaemonFixture fixture) : IClassFixture<SmallDiskDaemonFixture>
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task AnUploadThatFillsTheDisk_Is507DiskFull_TheOldFileStays_AndNothingIsLeftBehind()
    {
        await using var sandbox = await CreateAsync();
        await Client.WriteTextAsync(sandbox.Id, "f.bin", "old");

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.UploadAsync(sandbox.Id, "f.bin", new Zeros(400 << 20)));

        Assert.Equal((ErrorCodes.DiskFull, 507), (e.Code, e.Status));
        Assert.Equal("old", await Client.ReadTextAsync(sandbox.Id, "f.bin"));
        Assert.Equal(["f.bin"], HostEntries(sandbox.Id));
    }

    /// <summary>
    /// The attack review's case: the volume has room, the disk under it has not, so the written bytes
    /// sit in the page cache and their write-back fails after the upload was answered. Only fsync's
    /// error tells; the upload must not be acknowledged.
    /// </summary>
    [Fact]
    public async Task AnUploadWhoseWriteBackFails_BecauseTheDiskUnderTheVolumeIsFull_Is507_NotAcknowledged()
    {
        await using var sandbox = await CreateAsync();
        await Client.WriteTextAsync(sandbox.Id, "f.bin", "old");
        var content = new byte[64 << 20];
        Random.Shared.NextBytes(content);

        HutchApiException e;
        using (fixture.FillHostDisk(leave: 8 << 20))
        {
            e = await Assert.ThrowsAsync<HutchApiException>(() => Client.UploadAsync(sandbox.Id, "f.bin", new MemoryStream(content)));
        }

        Assert.Equal((ErrorCodes.DiskFull, 507), (e.Code, e.Status));
        Assert.Equal("old", await Client.ReadTextAsync(sandbox.Id, "f.bin"));
        Assert.Equal(["f.bin"], HostEntries(sandbox.Id));
    }

    [Theory]
    [InlineData("Content-Length: 4194304")]
    [InlineData("Transfer-Encoding: chunked")]
    public async Task AnUploadWhoseBodyEndsEarly_IsNotAcknowledged_AndTheOldFileStays(string framing)
    {
        await using var sandbox = await CreateAsync();
        await Client.WriteTextAsync(sandbox.Id, "f.bin", "old");

        var answer = await SendTruncatedUploadAsync(sandbox.Id, "f.bin", framing, sent: 1 << 20);

        Assert.DoesNotMatch(@"^HTTP/1\.1 2\d\d", answer);
        Assert.Equal("old", await Client.ReadTextAsync(sandbox.Id, "f.bin"));
        Assert.Equal(["f.bin"], HostEntries(sandbox.Id));
    }

    /// <summary>
    /// Sends the head of an upload and part of its body, then closes the sending side (as a client
    /// that crashed or was cut off does) and returns what the daemon answered, if anything.
    /// </summary>
    private async Task<string> SendTruncatedUploadAsync(string id, string path, string framing, int sent)
    {
        var uri = new Uri(fixture.Daemon.Url);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        var stream = tcp.GetStream();
        var head = $"PUT /v1/sandboxes/{id}/files/content?path={path} HTTP/1.1\r\nHost: {uri.Authority}\r\n" +
                   $"Authorization: Bearer {fixture.ApiKey}\r\nContent-Type: application/octet-stream\r\n{framing}\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var body = new byte[sent];
        if (framing.StartsWith("Transfer-Encoding", StringComparison.Ordinal))
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"{sent:x}\r\n"));
            await stream.WriteAsync(body);
            await stream.WriteAsync("\r\n"u8.ToArray());   // a whole chunk, but never the last (empty) one
        }
        else
        {
            await stream.WriteAsync(body);
        }
        tcp.Client.Shutdown(SocketShutdown.Send);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            return await reader.ReadToEndAsync(patience.Token);
        }
        catch (IOException)
        {
            return "";  // reset without an answer: not an acknowledgement either
        }
    }

    /// <summary>A body of zeros of a known length, never held in memory.</summary>
    private sealed class Zeros(long length) : Stream
    {
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => _position = value; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            Array.Clear(buffer, offset, n);
            _position += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private async Task<TestSandbox> CreateAsync() => new(Client, await Client.CreateSandboxAsync(new CreateSandboxRequest()));

    /// <summary>Every entry of the workspace's host directory, hidden ones included.</summary>
    private List<string> HostEntries(string id) =>
        Directory.GetFileSystemEntries(Path.Join(fixture.Workspaces, id, "workspace")).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToList();
}
