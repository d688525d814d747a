namespace Hutch.Runtime.Durable;

/// <summary>
/// Wakes a waiter when anything in one directory changes (a log grows, a record appears), through
/// inotify (FileSystemWatcher): a follower of a log sees new output within a millisecond or so
/// instead of polling. Take <see cref="Next"/> before reading, then await it: a change made after
/// that moment completes it, so none is missed between a read and the wait.
/// </summary>
public sealed class DirectoryChanges : IDisposable
{
    private readonly FileSystemWatcher _watcher;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public DirectoryChanges(string directory)
    {
        _watcher = new FileSystemWatcher(directory)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
            IncludeSubdirectories = false,
        };
        _watcher.Changed += (_, _) => Signal();
        _watcher.Created += (_, _) => Signal();
        _watcher.Renamed += (_, _) => Signal();
        _watcher.Deleted += (_, _) => Signal();
        _watcher.Error += (_, _) => Signal(); // an overflowed queue: look again rather than miss something
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>Completes at the first change after it was taken.</summary>
    public Task Next => Volatile.Read(ref _changed).Task;

    /// <summary>Waits for <paramref name="next"/> or the timeout, whichever is first (the timeout is a safety net, not an error).</summary>
    public static async Task WaitAsync(Task next, TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await next.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Look again anyway.
        }
    }

    private void Signal() =>
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public void Dispose() => _watcher.Dispose();
}
