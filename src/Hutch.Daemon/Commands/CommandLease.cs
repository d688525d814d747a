namespace Hutch.Daemon.Commands;

/// <summary>
/// A command's place in a limit of commands running at once (HUTCH_MAX_EXECS_PER_*). The request that
/// ran the command holds it and gives it back when it ends; but a command whose caller left runs on
/// (docs/exec.md), so it keeps the place until it really ends. Otherwise a caller could start
/// commands, hang up, and start more, past every limit.
/// </summary>
public sealed class CommandLease(IDisposable place)
{
    private const int HeldByRequest = 0, KeptByCommand = 1, Released = 2;
    private int _state;

    /// <summary>The command runs on after its request: the place is given back when <paramref name="ended"/> completes.</summary>
    public void KeepUntil(Task ended)
    {
        if (Interlocked.CompareExchange(ref _state, KeptByCommand, HeldByRequest) == HeldByRequest)
        {
            ended.ContinueWith(_ => Release(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>The request ended: the place is given back unless the command kept it.</summary>
    public void EndOfRequest()
    {
        if (Interlocked.CompareExchange(ref _state, Released, HeldByRequest) == HeldByRequest)
        {
            place.Dispose();
        }
    }

    private void Release()
    {
        Volatile.Write(ref _state, Released);
        place.Dispose();
    }
}
