namespace Hutch.Agent;

/// <summary>
/// The agent's one timer thread: exec timeouts and tree kills run here, so neither a connection's
/// read loop nor an exec's output pump ever waits for a kill, and a timeout fires even when the
/// daemon stops reading.
/// </summary>
internal sealed class Watchdog
{
    private readonly object _gate = new();
    private readonly PriorityQueue<Job, long> _jobs = new();
    private Thread? _thread;

    /// <summary>A scheduled piece of work; pass it to <see cref="Cancel"/> to drop it.</summary>
    public sealed class Job(Action action)
    {
        public Action Action { get; } = action;
    }

    /// <summary>Starts the thread at agent startup: creating it later could fail at the sandbox's pids limit.</summary>
    public void Start()
    {
        lock (_gate)
        {
            _thread = new Thread(Loop, 128 * 1024) { IsBackground = true, Name = "watchdog" };
            _thread.Start();
        }
    }

    /// <summary>Runs <paramref name="action"/> once Environment.TickCount64 reaches <paramref name="dueTicks"/> (0: now).</summary>
    public Job At(long dueTicks, Action action)
    {
        var job = new Job(action);
        lock (_gate)
        {
            _jobs.Enqueue(job, dueTicks);
            Monitor.Pulse(_gate);
        }
        return job;
    }

    public void Cancel(Job job)
    {
        lock (_gate)
        {
            _jobs.Remove(job, out _, out _);
        }
    }

    private void Loop()
    {
        while (true)
        {
            Job job;
            lock (_gate)
            {
                while (true)
                {
                    if (_jobs.TryPeek(out var next, out var due))
                    {
                        var wait = due - Environment.TickCount64;
                        if (wait <= 0)
                        {
                            job = _jobs.Dequeue();
                            break;
                        }
                        Monitor.Wait(_gate, (int)Math.Min(wait, int.MaxValue));
                    }
                    else
                    {
                        Monitor.Wait(_gate);
                    }
                }
            }
            try
            {
                job.Action();
            }
            catch (Exception e)
            {
                Log.Write($"watchdog job failed: {e.Message}");
            }
        }
    }
}
