using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit.Abstractions;

namespace Hutch.Tests.Agent;

/// <summary>
/// Size, startup and idle memory of the published agent: every sandbox pays them. The bounds are
/// loose regression guards (a shared CI box is noisy); the measured values go to the test output
/// and, from a quiet run, into docs/agent.md.
/// </summary>
[Collection(AgentCollection.Name)]
public sealed class AgentFootprintTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Agent_StartsInMillisecondsAndIdlesUnderFourMegabytes()
    {
        var binary = await AgentBinary.EnsureAsync();
        var dir = Hutch.Tests.Infrastructure.TestPaths.NewTempDir("hutch-footprint");
        var startups = new List<double>();
        long vmRss = 0, rssAnon = 0;
        try
        {
            for (var i = 0; i < 15; i++)
            {
                var socket = Path.Join(dir, $"a{i}.sock");
                var clock = Stopwatch.StartNew();
                using var agent = AgentFixture.StartAgent(binary, ["--listen", socket], new StringBuilder());
                try
                {
                    await using var connection = await ConnectSoonAsync(socket, agent);
                    await connection.PingAsync();
                    startups.Add(clock.Elapsed.TotalMilliseconds);
                    if (i == 0)
                    {
                        await Task.Delay(300);
                        (vmRss, rssAnon) = (StatusKb(agent.Id, "VmRSS"), StatusKb(agent.Id, "RssAnon"));
                    }
                }
                finally
                {
                    agent.Kill();
                    await agent.WaitForExitAsync();
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        startups.Sort();
        var size = new FileInfo(binary).Length;
        output.WriteLine($"binary {size} bytes; start → first Pong median {startups[startups.Count / 2]:F1} ms, min {startups[0]:F1} ms (incl. Process.Start); idle VmRSS {vmRss} kB, RssAnon {rssAnon} kB");

        Assert.InRange(size, 100_000, 3_000_000);
        Assert.InRange(startups[startups.Count / 2], 0, 250);
        Assert.InRange(vmRss, 1, 8 * 1024);
        Assert.InRange(rssAnon, 1, 2 * 1024);
    }

    /// <summary>Connects as soon as the agent listens (tight retry: this is what is being timed).</summary>
    private static async Task<AgentConnection> ConnectSoonAsync(string socket, Process agent)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await AgentConnection.ConnectAsync(socket);
            }
            catch (System.Net.Sockets.SocketException) when (waited.Elapsed < TimeSpan.FromSeconds(10) && !agent.HasExited)
            {
                Thread.Yield();
            }
        }
    }

    private static long StatusKb(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }
}
