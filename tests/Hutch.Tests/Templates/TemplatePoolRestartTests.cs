using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Templates;

/// <summary>A template's pooled sandbox, ready with its start command, outlives a daemon killed with SIGKILL.</summary>
public sealed class TemplatePoolRestartTests
{
    [Fact]
    public async Task APooledSandboxWithItsStartCommandUp_IsAdoptedByTheNextDaemon_WhichSupervisesItsServiceAgain()
    {
        var dataDir = TestPaths.NewTempDir("hutch-pr");
        var port = FreePort();
        var daemon = StartDaemon(dataDir, port);
        try
        {
            using (var client = await ConnectAsync(dataDir, port))
            {
                byte[][] layers = [MinimalRoot.Tar()];
                var config = ImageBuilder.Config(layers, run: new System.Text.Json.Nodes.JsonObject { ["Env"] = new System.Text.Json.Nodes.JsonArray("PATH=/usr/bin:/bin") });
                await client.ImportTemplateAsync(new MemoryStream(ImageBuilder.DockerArchive(layers, config)), "base", "1");
                var dockerfile = """
                    FROM base:1
                    CMD ["/bin/sh", "-c", "echo run >> /tmp/starts; sleep 1; : > /tmp/up; exec sleep 600"]
                    HEALTHCHECK --interval=100ms --start-period=20s CMD test -f /tmp/up
                    """;
                await foreach (var _ in client.BuildTemplateAsync(Context(("Dockerfile", dockerfile)), new TemplateBuildOptions("ready", "1", Network: new NetworkPolicy(NetworkModes.None))))
                {
                }
                // The first create is cold; its claim found the shelf empty and filled it.
                await client.DeleteSandboxAsync((await client.CreateSandboxAsync(new CreateSandboxRequest(Template: "ready"))).Id);
                await WaitForPoolAsync(client, 1);
            }

            daemon.Kill(); // SIGKILL: the pooled sandbox and its start command run on, unsupervised
            await Task.Run(() => daemon.WaitForExit(TimeSpan.FromSeconds(30)));
            var restarted = DateTimeOffset.UtcNow;
            daemon = StartDaemon(dataDir, port);
            using var again = await ConnectAsync(dataDir, port);
            await WaitForPoolAsync(again, 1);
            var claimed = await again.CreateSandboxAsync(new CreateSandboxRequest(Template: "ready"));
            var starts = await again.ExecAsync(claimed.Id, new ExecRequest(Command: "cat /tmp/starts; test -f /tmp/up && echo up"));
            var start = await again.GetServiceAsync(claimed.Id, "start");
            // Supervised again: a stop reaches its process (an unsupervised one would just be described as ready).
            var stopped = await again.StopServiceAsync(claimed.Id, "start", new StopServiceRequest(GraceMs: 1000));

            Assert.Equal("run\nup\n", starts.Stdout); // the claim ran nothing: the run is the first daemon's
            Assert.Equal(ServiceStates.Ready, start.State);
            Assert.True(start.StartedAt < restarted, $"the start command started at {start.StartedAt:O}, after the restart at {restarted:O}");
            Assert.NotEqual(ServiceStates.Ready, stopped.State);
            Assert.NotNull(stopped.EndedAt);
            await again.DeleteSandboxAsync(claimed.Id);
        }
        finally
        {
            if (!daemon.HasExited)
            {
                Hutch.Linux.Processes.Signal(daemon.Id, Hutch.Linux.Processes.SIGTERM);
                if (!await Task.Run(() => daemon.WaitForExit(TimeSpan.FromSeconds(30))))
                {
                    daemon.Kill();
                }
            }
            TestPaths.DeleteDataDir(dataDir);
        }
    }

    private static async Task WaitForPoolAsync(HutchClient client, int ready)
    {
        var waited = Stopwatch.StartNew();
        while ((await client.HealthAsync()).WarmPool != ready)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(60), $"the warm pool never held {ready} ready sandbox(es)");
            await Task.Delay(50);
        }
    }

    private static MemoryStream Context(params (string Name, string Text)[] files)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, text) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) });
            }
        }
        tar.Position = 0;
        return tar;
    }

    /// <summary>`hutch serve` in a process of its own, pooling one sandbox of "ready:1" and none of the host's root.</summary>
    private static Process StartDaemon(string dataDir, int port)
    {
        var psi = new ProcessStartInfo(TestPaths.Cli) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "serve", "--data-dir", dataDir, "--url", $"http://127.0.0.1:{port}" })
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["HUTCH_AGENT"] = TestPaths.Agent;
        psi.Environment["HUTCH_WARM_POOL"] = "0";
        psi.Environment["HUTCH_WARM_POOL_TEMPLATES"] = "ready:1=1";
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<HutchClient> ConnectAsync(string dataDir, int port)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var keyFile = Path.Join(dataDir, "api-key");
            if (File.Exists(keyFile) && (await File.ReadAllTextAsync(keyFile)).Trim() is { Length: > 0 } key)
            {
                var client = new HutchClient(new Uri($"http://127.0.0.1:{port}"), key);
                try
                {
                    await client.HealthAsync();
                    return client;
                }
                catch (Exception e) when ((e is HutchApiException or HttpRequestException) && waited.Elapsed < TimeSpan.FromSeconds(30))
                {
                    client.Dispose();
                }
            }
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the daemon did not answer within 30 s");
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
