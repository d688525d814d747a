using System.Net.Sockets;
using Hutch.Linux;

namespace Hutch.Tests.Infrastructure;

/// <summary>
/// TCP sockets created inside a named network namespace (<c>/run/netns/NAME</c>), for the test
/// upstream servers: NetworkNamespace.RunInAsync enters it through the file's descriptor as it does
/// through a sandbox's pidfd. A socket belongs to the namespace it was created in for its whole life
/// (network_namespaces(7)), so bind, listen and accept then run on any thread.
/// </summary>
internal static class NamespaceSockets
{
    /// <summary>One new, unbound stream socket per entry of <paramref name="families"/>, in the namespace <paramref name="netnsPath"/> names.</summary>
    public static async Task<Socket[]> CreateAsync(string netnsPath, IReadOnlyList<AddressFamily> families)
    {
        using var ns = File.OpenHandle(netnsPath);
        return await NetworkNamespace.RunInAsync(ns, () =>
        {
            var sockets = new List<Socket>();
            try
            {
                sockets.AddRange(families.Select(family => new Socket(family, SocketType.Stream, ProtocolType.Tcp)));
                return sockets.ToArray();
            }
            catch
            {
                sockets.ForEach(socket => socket.Dispose());
                throw;
            }
        });
    }
}
