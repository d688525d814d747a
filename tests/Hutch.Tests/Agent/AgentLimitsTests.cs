using System.Diagnostics;
using System.Text;
using Hutch.Protocol.Agent;

namespace Hutch.Tests.Agent;

/// <summary>The agent when the sandbox runs out of processes: refuse cleanly, stay alive, recover.</summary>
[Collection(AgentCollection.Name)]
public sealed class AgentLimitsTests
{
    [Fact]
    public async Task Exec_AtPidsLimit_RepliesSpawnFailedAndRecovers()
    {
        await using var cgroup = PidsCgroup.TryCreate(maxPids: 24);
        if (cgroup is null)
        {
            return; // needs root and a writable pids cgroup (v1 or v2)
        }
        var dir = Hutch.Tests.Infrastructure.TestPaths.NewTempDir("hutch-pids");
        var socket = Path.Join(dir, "agent.sock");
        var binary = await AgentBinary.EnsureAsync();
        using var agent = AgentFixture.StartAgent("/bin/sh", ["-c", $"echo $$ > {cgroup.ProcsFile} && exec {binary} --listen {socket}"], new StringBuilder());
        try
        {
            await AgentFixture.WaitForSocketAsync(socket, agent);
            await using var connection = await AgentConnection.ConnectAsync(socket);
            // Forks until the kernel says no (EAGAIN), keeps every child, reports, then lets them go.
            const string filler = """
                import os, sys, time
                n = 0
                try:
                    while n < 200:
                        if os.fork() == 0:
                            sys.stdin.read()
                            os._exit(0)
                        n += 1
                except OSError:
                    pass
                print(n, flush=True)
                sys.stdin.read()
                """;
            var fillerChannel = connection.NewChannel();
            var fillerPid = await connection.StartAsync(fillerChannel, AgentConnection.Command("/usr/bin/python3", "-c", filler) with { HasStdin = true });
            var forked = await connection.NextAsync(fillerChannel);
            Assert.Equal(FrameKind.Stdout, forked.Kind);

            var refused = await connection.RunAsync(AgentConnection.Sh("echo one-too-many"));
            var hello = await connection.PingAsync();
            await connection.SendAsync(FrameKind.StdinEof, fillerChannel);
            var fillerOutcome = await connection.CollectAsync(fillerChannel, fillerPid);
            var recovered = await connection.RunAsync(AgentConnection.Sh("echo works again"));

            Assert.Equal("spawn_failed", refused.Error?.Code);
            Assert.Contains("errno 11", refused.Error!.Message);
            Assert.Equal(agent.Id, hello.Pid);
            Assert.Equal(0, fillerOutcome.Exited!.ExitCode);
            Assert.Equal("works again\n", recovered.StdoutText);
        }
        finally
        {
            agent.Kill();
            await agent.WaitForExitAsync();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A pids cgroup of our own (v1 hierarchy if mounted, else v2), emptied and removed on dispose.</summary>
    private sealed class PidsCgroup : IAsyncDisposable
    {
        private readonly string _path;

        private PidsCgroup(string path) => _path = path;

        public string ProcsFile => Path.Join(_path, "cgroup.procs");

        public static PidsCgroup? TryCreate(int maxPids)
        {
            if (Environment.UserName != "root" || !File.Exists("/usr/bin/python3"))
            {
                return null;
            }
            var name = $"hutch-agent-test-{Guid.NewGuid():N}"[..28];
            string? parent = Directory.Exists("/sys/fs/cgroup/pids") ? "/sys/fs/cgroup/pids"
                : File.Exists("/sys/fs/cgroup/cgroup.subtree_control") && File.ReadAllText("/sys/fs/cgroup/cgroup.subtree_control").Contains("pids") ? "/sys/fs/cgroup"
                : null;
            if (parent is null)
            {
                return null;
            }
            try
            {
                var path = Path.Join(parent, name);
                Directory.CreateDirectory(path);
                File.WriteAllText(Path.Join(path, "pids.max"), maxPids.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return new PidsCgroup(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        public async ValueTask DisposeAsync()
        {
            var waited = Stopwatch.StartNew();
            while (waited.Elapsed < TimeSpan.FromSeconds(10))
            {
                var pids = File.ReadAllLines(ProcsFile).Where(l => l.Length > 0).Select(int.Parse).ToList();
                if (pids.Count == 0)
                {
                    break;
                }
                foreach (var pid in pids)
                {
                    Hutch.Linux.Processes.Signal(pid, Hutch.Linux.Processes.SIGKILL);
                }
                await Task.Delay(50);
            }
            Directory.Delete(_path);
        }
    }
}
