using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Agent;

[CollectionDefinition(Name)]
public sealed class AgentCollection : ICollectionFixture<AgentFixture>
{
    public const string Name = "agent";
}

/// <summary>
/// One real NativeAOT agent, started outside any container with --listen on a temporary socket
/// and shared by the agent tests (each test opens its own connections). The binary is
/// artifacts/agent/hutch-agent, the one the daemon uses; it is published first when it is missing
/// or older than its sources (HUTCH_AGENT, set by eng/test.sh after its own build, wins).
/// </summary>
public sealed class AgentFixture : IAsyncLifetime
{
    private readonly StringBuilder _log = new();
    private Process? _process;

    public string Dir { get; } = TestPaths.NewTempDir("hutch-agent");
    public string SocketPath => Path.Join(Dir, "agent.sock");
    public int Pid => _process!.Id;

    /// <summary>What the agent wrote on stderr so far (its log).</summary>
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

    public async Task InitializeAsync()
    {
        var binary = await AgentBinary.EnsureAsync();
        _process = StartAgent(binary, ["--listen", SocketPath], _log);
        await WaitForSocketAsync(SocketPath, _process);
    }

    public Task<AgentConnection> ConnectAsync() => AgentConnection.ConnectAsync(SocketPath);

    public bool IsRunning => _process is { HasExited: false };

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(); // SIGKILL: the agent ignores SIGTERM by design
            _process.WaitForExit(5000);
        }
        _process?.Dispose();
        Directory.Delete(Dir, recursive: true);
        return Task.CompletedTask;
    }

    internal static Process StartAgent(string fileName, IEnumerable<string> args, StringBuilder log)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (log)
                {
                    log.AppendLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }

    internal static async Task WaitForSocketAsync(string path, Process process)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await probe.ConnectAsync(new UnixDomainSocketEndPoint(path));
                return;
            }
            catch (SocketException) when (deadline.Elapsed < TimeSpan.FromSeconds(10) && !process.HasExited)
            {
                await Task.Delay(5);
            }
        }
    }
}

/// <summary>Finds or builds the NativeAOT agent binary, once per test run.</summary>
public static class AgentBinary
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? s_path;

    public static string DefaultPath => Path.Join(TestPaths.RepoRoot, "artifacts", "agent", "hutch-agent");

    public static async Task<string> EnsureAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return s_path ??= await FindOrBuildAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<string> FindOrBuildAsync()
    {
        if (Environment.GetEnvironmentVariable("HUTCH_AGENT") is { Length: > 0 } given && File.Exists(given))
        {
            return given;
        }
        var root = TestPaths.RepoRoot;
        var binary = DefaultPath;
        Directory.CreateDirectory(Path.GetDirectoryName(binary)!);
        // Another test process (or eng/test.sh) may be building too: one at a time.
        using var buildLock = await LockAsync(Path.Join(root, "artifacts", "agent-build.lock"));
        if (File.Exists(binary) && File.GetLastWriteTimeUtc(binary) >= NewestSource(root))
        {
            return binary;
        }
        // Publish beside, then rename over: a sandbox may be running the old binary right now.
        var staging = Path.Join(root, "artifacts", $"agent-staging-{Guid.NewGuid():N}");
        try
        {
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { "publish", Path.Join(root, "src", "Hutch.Agent"), "-c", "Release", "-o", staging, "-nologo", "-v", "q" })
            {
                info.ArgumentList.Add(arg);
            }
            using var publish = Process.Start(info)!;
            var stdout = publish.StandardOutput.ReadToEndAsync();
            var stderr = publish.StandardError.ReadToEndAsync();
            await publish.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
            if (publish.ExitCode != 0)
            {
                throw new InvalidOperationException($"dotnet publish src/Hutch.Agent failed:\n{await stdout}\n{await stderr}");
            }
            File.Move(Path.Join(staging, "hutch-agent"), binary, overwrite: true);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
        }
        return binary;
    }

    private static DateTime NewestSource(string root)
    {
        var newest = File.GetLastWriteTimeUtc(Path.Join(root, "Directory.Build.props"));
        foreach (var project in new[] { "Hutch.Agent", "Hutch.Linux", "Hutch.Protocol" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Join(root, "src", project), "*", SearchOption.AllDirectories))
            {
                if ((file.EndsWith(".cs", StringComparison.Ordinal) || file.EndsWith(".csproj", StringComparison.Ordinal))
                    && !file.Contains("/bin/", StringComparison.Ordinal) && !file.Contains("/obj/", StringComparison.Ordinal))
                {
                    var time = File.GetLastWriteTimeUtc(file);
                    newest = time > newest ? time : newest;
                }
            }
        }
        return newest;
    }

    private static async Task<FileStream> LockAsync(string path)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (waited.Elapsed < TimeSpan.FromMinutes(5))
            {
                await Task.Delay(200);
            }
        }
    }
}
