using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Runtime;

/// <summary>A failure of the OCI runtime binary itself, with what it printed.</summary>
public sealed class OciRuntimeException(string message, bool binaryMissing = false) : Exception(message)
{
    /// <summary>True when the runtime binary could not be started at all (not installed).</summary>
    public bool BinaryMissing { get; } = binaryMissing;
}

/// <summary>
/// Drives an OCI runtime binary (runc by default; crun and runsc take the same verbs) with its own
/// state root, so Hutch's containers never mix with other users of the same runtime.
/// </summary>
public sealed class OciRuntime(string binary, string stateRoot)
{
    public string Binary { get; } = binary;

    /// <summary>
    /// `runtime run --detach --preserve-fds 2`: creates and starts the container with <paramref name="listener"/>
    /// as its fd 3 (the agent's control channel), <paramref name="records"/> as its fd 4 (a host
    /// directory for background processes' logs, reachable inside only through that descriptor) and
    /// <paramref name="logFile"/> as its stdout/stderr.
    /// Returns when the container's init runs; throws with the runtime's message when it fails. Not
    /// cancellable on purpose: runc must be reaped, and a container it goes on to start must be known.
    /// </summary>
    public async Task RunDetachedAsync(string id, string bundleDir, SafeFileHandle listener, SafeFileHandle records, string logFile)
    {
        var path = ResolveBinary();
        using var log = File.OpenHandle(logFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        var logStart = new FileInfo(logFile).Length;
        var pid = Spawn.Start(new SpawnRequest(
            path,
            [path, "--root", stateRoot, "run", "--detach", "--preserve-fds", "2", "--bundle", bundleDir, id],
            CleanEnvironment(),
            bundleDir,
            new Dictionary<int, System.Runtime.InteropServices.SafeHandle> { [1] = log, [2] = log, [3] = listener, [4] = records },
            NewSession: true));
        // Not cancellable: runc must be reaped whatever happens, or it stays a zombie of the daemon.
        var status = await WaitForExitAsync(pid).ConfigureAwait(false);
        if (status.ExitCode != 0)
        {
            throw new OciRuntimeException($"{Binary} could not start sandbox {id}: {ReadTail(logFile, logStart)}");
        }
    }

    /// <summary>
    /// Freezes every process of a running sandbox (`runc pause`: the cgroup freezer) so its files hold
    /// still, as `docker commit` does; false when the runtime refused (the sandbox is not running).
    /// </summary>
    public async Task<bool> PauseAsync(string id, CancellationToken cancellationToken) =>
        (await RunAsync(["pause", id], cancellationToken).ConfigureAwait(false)).Code == 0;

    /// <summary>Thaws a sandbox frozen by <see cref="PauseAsync"/> (`runc resume`).</summary>
    /// <exception cref="OciRuntimeException">The runtime failed: the sandbox may stay frozen.</exception>
    public async Task ResumeAsync(string id)
    {
        var (code, output) = await RunAsync(["resume", id], CancellationToken.None).ConfigureAwait(false);
        if (code != 0)
        {
            throw new OciRuntimeException($"{Binary} resume {id} failed: {output.Trim()}");
        }
    }

    /// <summary>
    /// Kills every process of the container and removes its state and cgroups. Unknown ids are fine.
    /// Fast path: SIGKILL the init ourselves and wait until it is a zombie (the kernel has then killed
    /// and collected the whole PID namespace), then a plain `delete`. runc 1.1's `delete --force` on a
    /// running container sleeps 100 ms after its own kill; it stays the fallback for anything unusual.
    /// </summary>
    public async Task DeleteAsync(string id, string cgroupPath, CancellationToken cancellationToken)
    {
        await RuntimeDeleteAsync(id, cgroupPath, cancellationToken).ConfigureAwait(false);
        // What the runtime could not remove (a fork bomb's last children dying under it) goes now.
        await Cgroups.CgroupRemover.RemoveAsync(cgroupPath, CgroupPatience, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>How long a delete waits for a sandbox's last processes to die before it reports the cgroups as left.</summary>
    private static readonly TimeSpan CgroupPatience = TimeSpan.FromSeconds(10);

    private async Task RuntimeDeleteAsync(string id, string cgroupPath, CancellationToken cancellationToken)
    {
        if (InitPid(id) is { } pid && BelongsTo(pid, cgroupPath) && Processes.Signal(pid, Processes.SIGKILL))
        {
            await WaitUntilGoneAsync(pid, cancellationToken).ConfigureAwait(false);
            if ((await RunAsync(["delete", id], cancellationToken).ConfigureAwait(false)).Code == 0)
            {
                return;
            }
        }
        var (code, output) = await RunAsync(["delete", "--force", id], cancellationToken).ConfigureAwait(false);
        if (code != 0 && !output.Contains("not exist", StringComparison.OrdinalIgnoreCase))
        {
            throw new OciRuntimeException($"{Binary} delete {id} failed: {output.Trim()}");
        }
    }

    /// <summary>The container init's host pid, from the runtime's state file (no runtime call), or null.</summary>
    public int? InitPid(string id)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Join(stateRoot, id, "state.json")));
            return doc.RootElement.TryGetProperty("init_process_pid", out var pid) && pid.GetInt32() > 0 ? pid.GetInt32() : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// True when the process is in the sandbox's cgroup: a pid from a state file may have been reused
    /// by an unrelated host process since, and that one must never be signalled.
    /// </summary>
    public static bool BelongsTo(int pid, string cgroupPath)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cgroup").Contains(cgroupPath + "\n", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task WaitUntilGoneAsync(int pid, CancellationToken cancellationToken)
    {
        var stat = $"/proc/{pid}/stat";
        for (var i = 0; i < 5000; i++)
        {
            try
            {
                if (!ProcTree.TryParseStat(await File.ReadAllBytesAsync(stat, cancellationToken).ConfigureAwait(false), out var s) || s.IsGone)
                {
                    return;
                }
            }
            catch (IOException)
            {
                return; // reaped already
            }
            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<(int Code, string Output)> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var psi = new ProcessStartInfo(ResolveBinary()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--root");
        psi.ArgumentList.Add(stateRoot);
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        using var process = Process.Start(psi) ?? throw new OciRuntimeException($"could not start {Binary}", binaryMissing: true);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return (process.ExitCode, await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false));
    }

    /// <summary>The runtime's absolute path; throws <see cref="OciRuntimeException"/> with BinaryMissing when it is not installed.</summary>
    public string ResolveBinary() =>
        Spawn.ResolveInPath(Binary, Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") is { } p && File.Exists(p)
            ? p
            : throw new OciRuntimeException(
                $"the OCI runtime '{Binary}' is not installed or not in PATH: install it (Debian: apt-get install runc) or set HUTCH_RUNTIME to its path",
                binaryMissing: true);

    private static string[] CleanEnvironment() =>
        [$"PATH={Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}"];

    /// <summary>
    /// Waits for a child we started with posix_spawn. The .NET runtime reaps only the children
    /// System.Diagnostics.Process started, so this one is ours: a blocking waitpid on a thread of
    /// its own answers the moment runc exits (polling would add up to its interval to every create).
    /// </summary>
    private static Task<ExitStatus> WaitForExitAsync(int pid) =>
        Task.Factory.StartNew(() => Processes.WaitFor(pid), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private static string ReadTail(string logFile, long from)
    {
        try
        {
            using var stream = File.Open(logFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            stream.Position = Math.Max(from, stream.Length - 4096);
            var text = new StreamReader(stream, Encoding.UTF8).ReadToEnd().Trim();
            return text.Length == 0 ? "it exited with an error and printed nothing" : text;
        }
        catch (IOException e)
        {
            return e.Message;
        }
    }
}
