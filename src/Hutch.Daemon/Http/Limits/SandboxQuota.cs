using Hutch.Daemon.Engine;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Http.Limits;

/// <summary>
/// The most sandboxes one API key may hold (HUTCH_MAX_SANDBOXES_PER_KEY): a create past it is 409
/// <c>too_many_sandboxes</c>, like the other count caps (too_many_processes), since waiting does not
/// help, deleting does. The daemon has one key today, which holds every sandbox, so the count is of
/// all of them; when keys multiply, a sandbox's record will name its key and this will count per key.
/// Creates still in flight count too, so parallel creates cannot overshoot the cap.
/// </summary>
internal sealed class SandboxQuota(int max, Func<int> held)
{
    private readonly Lock _gate = new();
    private int _creating;

    /// <summary>Reserves a place for one create; dispose the reservation when the create has answered.</summary>
    /// <exception cref="HutchException">too_many_sandboxes (409) when the key holds <c>max</c> already.</exception>
    public IDisposable Reserve()
    {
        lock (_gate)
        {
            var count = held() + _creating;
            if (count >= max)
            {
                throw HutchException.Conflict(ErrorCodes.TooManySandboxes,
                    $"This API key holds {count} sandboxes, the most it may (HUTCH_MAX_SANDBOXES_PER_KEY={max}). Delete sandboxes it no longer needs (DELETE /v1/sandboxes/{{id}}), or give them a ttlSeconds, then create again.");
            }
            _creating++;
        }
        return new Reservation(this);
    }

    private void Release()
    {
        lock (_gate)
        {
            _creating--;
        }
    }

    private sealed class Reservation(SandboxQuota quota) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                quota.Release();
            }
        }
    }
}
