using System.Net.Sockets;

namespace Hutch.Daemon.Network;

/// <summary>Reads a proxy request's head from a sandbox's connection to the listener.</summary>
internal static class ProxyHead
{
    /// <summary>How long a program may take to send its request head.</summary>
    private static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(10);

    /// <returns>The request and any bytes sent after its head; or no request and why (for a 400).</returns>
    public static async Task<(ProxyRequest? Request, ReadOnlyMemory<byte> Early, string? Error)> ReadAsync(Socket client, CancellationToken stopping)
    {
        var buffer = new byte[ProxyRequest.MaxHead];
        var have = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(HeadTimeout);
        try
        {
            while (have < buffer.Length)
            {
                var n = await client.ReceiveAsync(buffer.AsMemory(have), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return (null, default, "the connection to the egress proxy closed before a whole request head");
                }
                have += n;
                var end = ProxyRequest.HeadEnd(buffer.AsSpan(0, have));
                if (end >= 0)
                {
                    var request = ProxyRequest.Parse(buffer.AsSpan(0, end), out var error);
                    return (request, buffer.AsMemory(end, have - end), error);
                }
            }
            return (null, default, $"the request head to the egress proxy is longer than {ProxyRequest.MaxHead / 1024} KiB");
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return (null, default, $"no whole request head reached the egress proxy within {HeadTimeout.TotalSeconds:0} s");
        }
        catch (SocketException e)
        {
            return (null, default, $"the connection to the egress proxy failed before a whole request head ({e.SocketErrorCode})");
        }
    }
}
