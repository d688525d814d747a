using System.Diagnostics;
using System.Net;
using System.Net.NetworkInformation;
using System.Text;
using System.Text.RegularExpressions;

namespace Hutch.Tests.Infrastructure;

// The namespace and the veth: made with iproute2 in two `ip -batch` runs (one process each, ~10 ms
// together), removed with one. N is claimed with a lock file per subnet under /run (a tmpfs, emptied
// at boot like the namespaces themselves): flock(2) conflicts between any two opens, threads of one
// process included, so parallel fixtures never share an N, and the kernel drops the lock when its
// holder dies. The file holds the holder's namespace name while the network exists, so whoever next
// takes a file that still names one knows its holder died without cleaning up, and removes it.
public sealed partial class EgressUpstreams
{
    private const string LockDir = "/run/hutch-tests";

    /// <summary>Picks N (and removes what dead fixtures left), then records the namespace about to be made under it.</summary>
    private async Task ClaimSubnetAsync()
    {
        Directory.CreateDirectory(LockDir);
        await RemoveStaleNetworksAsync();
        (Subnet, subnetLock) = await LockFreeSubnetAsync();
        // Written first, so that a half-made network is known to the next fixture if this process dies now.
        await RecordAsync(subnetLock, Namespace);
    }

    private async Task CreateNetworkAsync()
    {
        networkCreated = true;
        await RunIpAsync(null, $"""
            netns add {Namespace}
            link add {HostInterface} type veth peer name {UpstreamInterface} netns {Namespace}
            addr add {HostSideAddress}/30 dev {HostInterface}
            addr add {HostSideAddressV6}/64 dev {HostInterface} nodad
            link set {HostInterface} up
            """);
        // nodad: usable at once, instead of "tentative" for a second of duplicate address detection.
        // No route but the two connected ones: the namespace reaches the host side and nothing else.
        await RunIpAsync(Namespace, $"""
            addr add {Address}/30 dev {UpstreamInterface}
            addr add {AddressV6}/64 dev {UpstreamInterface} nodad
            link set {UpstreamInterface} up
            link set lo up
            """);
    }

    private async Task DeleteNetworkAsync()
    {
        if (networkCreated)
        {
            // The veth first, explicitly: deleting the namespace alone removes it only later, from a kernel worker.
            var (_, errors) = await RunIpAsync(null, $"link del {HostInterface}\nnetns del {Namespace}\n", force: true);
            if (File.Exists($"/run/netns/{Namespace}") || Directory.Exists($"/sys/class/net/{HostInterface}"))
            {
                throw new InvalidOperationException($"could not remove {Namespace} or {HostInterface}: {errors}");
            }
            networkCreated = false;
        }
        if (subnetLock is not null)
        {
            await RecordAsync(subnetLock, "");
            await subnetLock.DisposeAsync();
            subnetLock = null;
        }
    }

    /// <summary>Takes the first N, from a random start, whose lock is free and whose networks hold no host address.</summary>
    private static async Task<(int, FileStream)> LockFreeSubnetAsync()
    {
        // One look at the interfaces (a few ms: .NET reads /sys for each), not one per N tried.
        var hostAddresses = NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(nic => nic.GetIPProperties().UnicastAddresses)
            .Select(unicast => unicast.Address)
            .ToList();
        var start = Random.Shared.Next(256);
        for (var i = 0; i < 256; i++)
        {
            var n = (start + i) % 256;
            var claimed = TryLock(n);
            if (claimed is null)
            {
                continue;
            }
            await RemoveRecordedNetworkAsync(claimed);
            // Someone else's (a hand-made test network, say): the lock only knows about fixtures.
            if (hostAddresses.Any(address => InNetwork(address, IPAddress.Parse($"10.213.{n}.0"), 30) || InNetwork(address, IPAddress.Parse($"fd68:7574:7465:{n}::"), 64)))
            {
                await claimed.DisposeAsync();
                continue;
            }
            return (n, claimed);
        }
        throw new InvalidOperationException("no free 10.213.N.0/30 for the egress upstreams: all 256 are in use");
    }

    /// <summary>Removes the networks of fixtures that died holding one (their lock is free but still names it).</summary>
    private static async Task RemoveStaleNetworksAsync()
    {
        foreach (var path in Directory.EnumerateFiles(LockDir, "egress-*.lock").Where(path => new FileInfo(path).Length > 0))
        {
            await using var stale = TryLock(path);
            if (stale is not null)
            {
                await RemoveRecordedNetworkAsync(stale);
            }
        }
    }

    private static async Task RemoveRecordedNetworkAsync(FileStream locked)
    {
        locked.Position = 0;
        var recorded = await new StreamReader(locked, leaveOpen: true).ReadToEndAsync();
        // Only ever a name this fixture wrote: hutch-t- and 8 hex digits, whose veth is ht<the digits>-h.
        if (Regex.Match(recorded, "^hutch-t-([0-9a-f]{8})$") is { Success: true } match)
        {
            await RunIpAsync(null, $"link del ht{match.Groups[1].Value}-h\nnetns del {recorded}\n", force: true);
        }
        await RecordAsync(locked, "");
    }

    private static FileStream? TryLock(int n) => TryLock(Path.Join(LockDir, $"egress-10.213.{n}.lock"));

    private static FileStream? TryLock(string path)
    {
        try
        {
            // FileShare.None is flock(LOCK_EX | LOCK_NB) on Unix: an IOException when someone holds it.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static async Task RecordAsync(FileStream locked, string text)
    {
        locked.SetLength(0);
        await locked.WriteAsync(Encoding.ASCII.GetBytes(text));
        await locked.FlushAsync();
    }

    private static bool InNetwork(IPAddress address, IPAddress network, int prefix)
    {
        if (address.AddressFamily != network.AddressFamily)
        {
            return false;
        }
        var (x, y) = (address.GetAddressBytes(), network.GetAddressBytes());
        for (var i = 0; i < prefix; i++)
        {
            var mask = 0x80 >> (i % 8);
            if ((x[i / 8] & mask) != (y[i / 8] & mask))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Runs <c>ip [-n NETNS] [-force] -batch -</c> with <paramref name="batch"/> on stdin; throws on failure unless <paramref name="force"/>.</summary>
    private static async Task<(int Code, string Errors)> RunIpAsync(string? netns, string batch, bool force = false)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardInput = true, RedirectStandardError = true };
        if (netns is not null)
        {
            psi.ArgumentList.Add("-n");
            psi.ArgumentList.Add(netns);
        }
        if (force)
        {
            psi.ArgumentList.Add("-force"); // go on past a failed line: removal does what it still can
        }
        psi.ArgumentList.Add("-batch");
        psi.ArgumentList.Add("-");
        using var ip = Process.Start(psi)!;
        await ip.StandardInput.WriteAsync(batch);
        ip.StandardInput.Close();
        var errors = await ip.StandardError.ReadToEndAsync();
        await ip.WaitForExitAsync();
        if (ip.ExitCode != 0 && !force)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', psi.ArgumentList)} failed ({ip.ExitCode}): {errors}\n{batch}");
        }
        return (ip.ExitCode, errors);
    }
}
