using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// Accepts control connections and owns what they share: the reaper, the watchdog, the start time.
/// </summary>
internal sealed class AgentServer(SafeFileHandle listener, bool refuseInsidePeers)
{
    public const string Version = "0.1.0";

    private readonly long _startTicks = Environment.TickCount64;

    public Reaper Reaper { get; } = new();

    public Watchdog Watchdog { get; } = new();

    public long UptimeMs => Environment.TickCount64 - _startTicks;

    public void Run()
    {
        Reaper.Start();
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
            new Connection(this, client, next).Start();
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
