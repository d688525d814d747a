using Hutch.Linux;

namespace Hutch.Agent;

/// <summary>
/// As process 1 the agent must reap every child, orphans re-parented to it included, or the
/// sandbox fills with zombies. One thread loops on waitpid(-1); statuses go to the exec that owns
/// the pid and orphans' statuses are dropped. When there is no child at all it sleeps until the
/// next spawn instead of spinning.
/// </summary>
internal sealed class Reaper
{
    /// <summary>The oom_score_adj of every command: the most eagerly killed there is.</summary>
    public const int CommandOomScoreAdj = 1000;

    private readonly Lock _gate = new();
    private readonly Dictionary<int, Exec> _owners = [];
    private readonly ManualResetEventSlim _spawned = new(false, spinCount: 0);

    public void Start() => new Thread(Loop, 64 * 1024) { IsBackground = true, Name = "reaper" }.Start();

    /// <summary>
    /// Spawns under the lock the reaper takes to route a status, so a child that exits at once is
    /// never reaped before its owner is known.
    /// </summary>
    public int Spawn(SpawnRequest request, Exec owner)
    {
        int pid;
        lock (_gate)
        {
            pid = Hutch.Linux.Spawn.Start(request);
            _owners[pid] = owner;
        }
        // Under memory pressure, a sandbox's commands go first; the agent (the sandbox's init) and the
        // daemon stay. Raised after the spawn (and before the agent answers that it started): the agent
        // cannot raise its own around a spawn, since being non-dumpable its /proc/self belongs to the
        // sandbox's root, and becoming dumpable even briefly would open /proc/1/mem to its commands.
        // So what a command forks in its first microseconds may keep the floor. A command may lower
        // its value again, but not below the floor the runtime set (oomScoreAdj in the spec).
        Processes.SetOomScoreAdj(pid, CommandOomScoreAdj);
        _spawned.Set();
        return pid;
    }

    private void Loop()
    {
        while (true)
        {
            // Reset before waiting: a spawn after this point either makes waitpid see its child or
            // sets the event again, so no wake-up is lost.
            _spawned.Reset();
            (int Pid, ExitStatus Status)? reaped;
            try
            {
                reaped = Processes.WaitAny();
            }
            catch (IOException e)
            {
                Log.Write($"waitpid failed: {e.Message}");
                Thread.Sleep(100);
                continue;
            }
            if (reaped is not { } r)
            {
                _spawned.Wait();
                continue;
            }
            Exec? owner;
            lock (_gate)
            {
                _owners.Remove(r.Pid, out owner);
            }
            try
            {
                owner?.OnExited(r.Status);
            }
            catch (Exception e)
            {
                Log.Write($"routing the exit of pid {r.Pid} failed: {e.Message}");
            }
        }
    }
}
