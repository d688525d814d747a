namespace Hutch.Daemon.Http.Limits;

/// <summary>
/// Applies an attached terminal's resizes at most once per interval, the latest size winning. A
/// real terminal sends a burst of sizes while a window is dragged and only the last one matters, so
/// nothing is refused: sizes that come too soon wait (replacing each other) until the interval has
/// passed. A size still waiting is applied before the next input, so what is typed after a resize
/// always sees the new size, as it did when every resize was applied at once.
/// </summary>
internal sealed class ResizeCoalescer(Func<int, int, CancellationToken, Task> apply, TimeSpan interval, CancellationToken stop, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (int Cols, int Rows)? _pending;
    private long? _lastApplied;

    /// <summary>The delayed apply of a waiting size, if one was scheduled; awaited when the attachment ends.</summary>
    public Task Scheduled { get; private set; } = Task.CompletedTask;

    /// <summary>Applies the size now when the interval has passed since the last one, else keeps it for later.</summary>
    public async Task ResizeAsync(int cols, int rows)
    {
        await _gate.WaitAsync(stop);
        try
        {
            var wait = _lastApplied is { } last ? interval - _time.GetElapsedTime(last) : TimeSpan.Zero;
            if (wait <= TimeSpan.Zero)
            {
                _pending = null;
                await ApplyAsync(cols, rows);
                return;
            }
            var scheduled = _pending is not null;
            _pending = (cols, rows);
            if (!scheduled)
            {
                Scheduled = ApplyLaterAsync(wait);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Applies a waiting size now (before input that follows it).</summary>
    public async Task FlushAsync()
    {
        if (_pending is null)
        {
            return; // the common case, read without the gate: only the input pump (the caller) sets it, the timer only clears it
        }
        await _gate.WaitAsync(stop);
        try
        {
            if (_pending is { } size)
            {
                _pending = null;
                await ApplyAsync(size.Cols, size.Rows);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ApplyLaterAsync(TimeSpan wait)
    {
        await Task.Delay(wait, _time, stop);
        await FlushAsync();
    }

    private Task ApplyAsync(int cols, int rows)
    {
        _lastApplied = _time.GetTimestamp();
        return apply(cols, rows, stop);
    }
}
