using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Hutch.Client;
using Hutch.Daemon;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// A daemon whose workspaces live on a 32 MiB tmpfs, so an upload can fill the disk: it is shared by
/// the tests of <see cref="UploadDurabilityTests"/> only.
/// </summary>
public sealed class SmallDiskDaemonFixture : IAsyncLifetime
{
    public const long DiskBytes = 32 << 20;

    public string DataDir { get; } = TestPaths.NewTempDir("hutch-small");
    public RunningDaemon Daemon { get; private set; } = null!;
    public HutchClient Client { get; private set; } = null!;
    public string ApiKey { get; private set; } = "";

    public string Workspaces => Path.Join(DataDir, "workspaces");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Workspaces);
        Run("mount", "-t", "tmpfs", "-o", $"size={DiskBytes}", "tmpfs", Workspaces);
        var options = new HutchOptions
        {
            DataDir = DataDir, Url = "http://127.0.0.1:0", AgentPath = TestPaths.Agent, WarmPool = 0,
            WorkspaceVolume = Hutch.Files.Checkpoints.WorkspaceVolumeMode.Off,
        };
        Daemon = await DaemonHost.StartAsync(options);
        ApiKey = (await File.ReadAllTextAsync(options.ApiKeyFile)).Trim();
        Client = new HutchClient(new Uri(Daemon.Url), ApiKey);
    }

    public async Task DisposeAsync()
    {
        foreach (var sandbox in await Client.ListSandboxesAsync())
        {
            await Client.DeleteSandboxAsync(sandbox.Id);
        }
        Client.Dispose();
        await Daemon.DisposeAsync();
        TestPaths.DeleteDataDir(DataDir);
    }

    private static void Run(string program, params string[] args)
    {
        using var process = Process.Start(program, args);
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
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

        var e = await Assert.ThrowsAsync<HutchApiException>(() =>
            Client.UploadAsync(sandbox.Id, "f.bin", new MemoryStream(new byte[2 * SmallDiskDaemonFixture.DiskBytes])));

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

    private async Task<TestSandbox> CreateAsync() => new(Client, await Client.CreateSandboxAsync(new CreateSandboxRequest()));

    /// <summary>Every entry of the workspace's host directory, hidden ones included.</summary>
    private List<string> HostEntries(string id) =>
        Directory.GetFileSystemEntries(Path.Join(fixture.Workspaces, id)).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToList();
}
