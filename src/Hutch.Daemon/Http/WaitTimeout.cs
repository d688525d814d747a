using Hutch.Protocol.Api;

namespace Hutch.Daemon.Http;

/// <summary>The <c>timeoutMs</c> of the …/wait routes: default 30 s, at most an hour.</summary>
internal static class WaitTimeout
{
    private const long DefaultMs = 30_000;
    private const long MaxMs = 3_600_000;

    public static TimeSpan Parse(long? timeoutMs)
    {
        var timeout = timeoutMs ?? DefaultMs;
        if (timeout < 0 || timeout > MaxMs)
        {
            throw new HutchException(ErrorCodes.InvalidTimeout, $"timeoutMs must be between 0 and {MaxMs}; it was {timeout}.");
        }
        return TimeSpan.FromMilliseconds(timeout);
    }
}
