using System.Diagnostics;
using System.Text;
using Hutch.Client;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Artifacts;

/// <summary>
/// `hutch serve` as a process of its own, on its own data dir and port, with the environment a test
/// gives it: killed with SIGKILL (no shutdown code runs) and started again on the same data dir, as
/// a host that loses its daemon. Disposing deletes its sandboxes, stops it and removes the data dir.
/// </summary>
public sealed class KillableDaemon : IAsyncDisposable
{
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly int _port;
    private readonly StringBuilder _log = new();
    private Process? _process;
    private HutchClient? _client;

    private KillableDaemon(string dataDir, int port, IReadOnlyDictionary<string, string> environment) =>
        (DataDir, _port, _environment) = (dataDir, port, environment);

    public string DataDir { get; }

    /// <summary>A client of the daemon running now.</summary>
    public HutchClient Client => _client ?? throw new InvalidOperationException("the daemon is not running");

    /// <summary>What the daemon wrote to stdout and stderr, over all its runs (for a failing test's message).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<KillableDaemon> StartAsync(string prefix, IReadOnlyDictionary<string, string> environment)
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var daemon = new KillableDaemon(TestPaths.NewTempDir(prefix), port, environment);
        await daemon.RestartAsync();
        return daemon;
    }

    /// <summary>SIGKILL, then waits for the process to be gone.</summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            Hutch.Linux.Processes.Signal(process.Id, 9);
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "the daemon outlived SIGKILL for 30 s");
            process.Dispose();
        }
        _process = null;
        _client?.Dispose();
        _client = null;
    }

    /// <summary>Starts the daemon (again) on its data dir and waits until it answers.</summary>
    public async Task RestartAsync()
    {
        var psi = new ProcessStartInfo(TestPaths.Cli) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "serve", "--data-dir", DataDir, "--url", $"http://127.0.0.1:{_port}" })
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["HUTCH_AGENT"] = TestPaths.Agent;
        foreach (var (name, value) in _environment)
        {
            psi.Environment[name] = value;
        }
        _process = Process.Start(psi)!;
        DataReceivedEventHandler keep = (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_log)
                {
                    _log.AppendLine(e.Data);
                }
            }
        };
        _process.OutputDataReceived += keep;
        _process.ErrorDataReceived += keep;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        var keyFile = Path.Join(DataDir, "api-key");
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(_process.HasExited, $"the daemon exited at start:\n{Log}");
            if (File.Exists(keyFile) && (await File.ReadAllTextAsync(keyFile)).Trim() is { Length: > 0 } key)
            {
                var client = new HutchClient(new Uri($"http://127.0.0.1:{_port}"), key);
                try
                {
                    await client.HealthAsync();
                    _client = client;
                    return;
                }
                catch (Exception e) when (e is HutchApiException or HttpRequestException)
                {
                    client.Dispose();   // not listening yet
                }
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the daemon did not answer within 60 s:\n{Log}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            try
            {
                foreach (var sandbox in await Client.ListSandboxesAsync())
                {
                    await Client.DeleteSandboxAsync(sandbox.Id);
                }
            }
            finally
            {
                Hutch.Linux.Processes.Signal(process.Id, Hutch.Linux.Processes.SIGTERM);
                if (!await Task.Run(() => process.WaitForExit(TimeSpan.FromSeconds(30))))
                {
                    process.Kill();
                }
                process.Dispose();
                _client?.Dispose();
            }
        }
        TestPaths.DeleteDataDir(DataDir);
    }
}
