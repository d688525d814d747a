using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// Accepts control connections and owns what they share: the reaper, the watchdog, the start time.
/// </summary>
internal sealed class AgentServer(SafeFileHandle listener, bool refuseInsidePeers, SafeFileHandle? records)
{
    public const string Version = "0.1.0";

    /// <summary>How long without a running command before the heap is given back to the kernel.</summary>
    private const int IdleTrimDelayMs = 1000;

    private readonly long _startTicks = Environment.TickCount64;
    private readonly Lock _activityGate = new();
    private int _running;
    private long _lastFinish;
    private bool _trimPending;

    public Reaper Reaper { get; } = new();

    public Watchdog Watchdog { get; } = new();

    public ProcessTable Processes { get; } = new(records);

    public long UptimeMs => Environment.TickCount64 - _startTicks;

    public void OnExecStarted()
    {
        lock (_activityGate)
        {
            _running++;
        }
    }

    public void OnExecFinished()
    {
        lock (_activityGate)
        {
            _running--;
            _lastFinish = Environment.TickCount64;
            if (_running == 0 && !_trimPending)
            {
                _trimPending = true;
                Watchdog.At(_lastFinish + IdleTrimDelayMs, TrimWhenIdle);
            }
        }
    }

    /// <summary>
    /// A burst of commands leaves the GC's regions committed (100 concurrent execs: ~10 MB) until
    /// the next collection, which an idle agent never makes. Once nothing has run for a second,
    /// one aggressive collection returns the agent to its idle footprint.
    /// </summary>
    private void TrimWhenIdle()
    {
        lock (_activityGate)
        {
            var quietFor = Environment.TickCount64 - _lastFinish;
            if (_running > 0)
            {
                _trimPending = false; // the next finish schedules again
                return;
            }
            if (quietFor < IdleTrimDelayMs)
            {
                Watchdog.At(_lastFinish + IdleTrimDelayMs, TrimWhenIdle);
                return;
            }
            _trimPending = false;
        }
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    public void Run()
    {
        Reaper.Start();
        Watchdog.Start();
        var next = 0;
        while (true)
        {
            SafeFileHandle client;
            try
            {
                client = UnixSockets.Accept(listener);
            }
            catch (IOException e)
            {
                // EMFILE and friends: back off rather than spin; the daemon retries.
                Log.Write($"accept failed: {e.Message}");
                Thread.Sleep(100);
                continue;
            }
            next++;
            if (refuseInsidePeers && PeerPid(client) is var pid && pid != 0)
            {
                Log.Write($"refused connection {next} from pid {pid} (inside the sandbox)");
                client.Dispose();
                continue;
            }
            try
            {
                new Connection(this, client, next).Start();
            }
            catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
            {
                // No thread for it (the sandbox is at its pids limit): hang up; the daemon retries.
                Log.Write($"cannot serve connection {next}: {e.Message}");
                client.Dispose();
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>
    /// The peer's pid as our PID namespace sees it (SO_PEERCRED, socket(7)): 0 when the peer lives
    /// outside the namespace (the daemon), its pid when it is inside (sandboxed code); -1 when unknown.
    /// </summary>
    private static int PeerPid(SafeFileHandle socket)
    {
        try
        {
            return UnixSockets.GetPeerCredentials(socket).Pid;
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
