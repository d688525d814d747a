namespace Hutch.Daemon.Network.Dns;

/// <summary>
/// One sandbox's query budget, shared by its UDP listeners and its DNS-over-TCP connections: a token
/// bucket of <see cref="PerSecond"/> tokens refilled continuously, holding at most one second's worth.
/// A query over the budget is dropped (UDP) or ends its connection (TCP), and counted.
/// </summary>
public sealed class DnsRateLimit(TimeProvider? time = null, double perSecond = DnsRateLimit.PerSecond)
{
    public const double PerSecond = 200;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly double _perSecond = perSecond;
    private readonly Lock _lock = new();
    private double _tokens = perSecond;
    private long _last = (time ?? TimeProvider.System).GetTimestamp();
    private long _dropped;

    /// <summary>Queries refused by the budget so far.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Takes one token; false (and counted) when there is none.</summary>
    public bool TryTake()
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            _tokens = Math.Min(_perSecond, _tokens + _time.GetElapsedTime(_last, now).TotalSeconds * _perSecond);
            _last = now;
            if (_tokens >= 1)
            {
                _tokens -= 1;
                return true;
            }
        }
        Interlocked.Increment(ref _dropped);
        return false;
    }
}
