using System.Diagnostics;
using Hutch.Client;

namespace Hutch.Tests.Infrastructure;

/// <summary>
/// A daemon in a process of its own (the published `hutch serve`), with its own data dir: for tests
/// that measure the daemon itself (its memory), which an in-process daemon would mix with the test's.
/// Stopped with SIGTERM (it deletes its warm pool) and its data dir removed when disposed.
/// </summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private DaemonProcess(Process process, string dataDir, string url, string apiKey)
    {
        Process = process;
        DataDir = dataDir;
        Url = url;
        ApiKey = apiKey;
        Client = new HutchClient(new Uri(url), apiKey);
    }

    public Process Process { get; }
    public string DataDir { get; }
    public string Url { get; }
    public string ApiKey { get; }
    public HutchClient Client { get; }

    /// <summary>The daemon's resident set now, from /proc (VmRSS).</summary>
    public long RssBytes => ReadRss(Process.Id);

    public static async Task<DaemonProcess> StartAsync()
    {
        var dataDir = TestPaths.NewTempDir("hutch-p");
        var port = FreePort();
        var psi = new ProcessStartInfo(TestPaths.Cli) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "serve", "--data-dir", dataDir, "--url", $"http://127.0.0.1:{port}" })
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["HUTCH_AGENT"] = TestPaths.Agent;
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var url = $"http://127.0.0.1:{port}";
        var keyFile = Path.Join(dataDir, "api-key");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (File.Exists(keyFile) && (await File.ReadAllTextAsync(keyFile)).Trim() is { Length: > 0 } key)
            {
                using var probe = new HutchClient(new Uri(url), key);
                try
                {
                    await probe.HealthAsync();
                    return new DaemonProcess(process, dataDir, url, key);
                }
                catch (Exception e) when (e is HutchApiException or HttpRequestException)
                {
                    // Not listening yet.
                }
            }
            await Task.Delay(100);
        }
        process.Kill();
        throw new TimeoutException("the daemon did not answer within 30 s");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sandbox in await Client.ListSandboxesAsync())
        {
            await Client.DeleteSandboxAsync(sandbox.Id);
        }
        Client.Dispose();
        Hutch.Linux.Processes.Signal(Process.Id, Hutch.Linux.Processes.SIGTERM);
        if (!await Task.Run(() => Process.WaitForExit(TimeSpan.FromSeconds(30))))
        {
            Process.Kill();
        }
        Process.Dispose();
        TestPaths.DeleteDataDir(DataDir);
    }

    internal static long ReadRss(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException($"no VmRSS for pid {pid}");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Samples a process's resident set every 20 ms on a thread of its own and keeps the peak.</summary>
public sealed class RssPeak : IDisposable
{
    private readonly int _pid;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _peak;

    public RssPeak(int pid)
    {
        _pid = pid;
        Baseline = DaemonProcess.ReadRss(pid);
        _peak = Baseline;
        _thread = new Thread(Sample) { IsBackground = true, Name = "rss-peak" };
        _thread.Start();
    }

    public long Baseline { get; }

    /// <summary>The highest resident set seen so far.</summary>
    public long Peak => Interlocked.Read(ref _peak);

    /// <summary>How far the peak rose above the resident set at the start, in MiB.</summary>
    public long GrowthMiB => (Peak - Baseline) >> 20;

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Sample()
    {
        while (!_stop)
        {
            try
            {
                var rss = DaemonProcess.ReadRss(_pid);
                if (rss > Interlocked.Read(ref _peak))
                {
                    Interlocked.Exchange(ref _peak, rss);
                }
            }
            catch (IOException)
            {
                return; // the process ended
            }
            Thread.Sleep(20);
        }
    }
}
