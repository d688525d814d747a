using System.Diagnostics;
using System.Net.Sockets;
using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Tests.Runtime;

/// <summary>
/// A process alone in a new network namespace with lo up (as runc leaves a sandbox's), pinned by a
/// pidfd. Everything a test does in it stays in it: the namespace dies with the process.
/// </summary>
internal sealed class ScratchNetns : IAsyncDisposable
{
    private readonly Process _process;

    public SafeFileHandle Pidfd { get; }

    private ScratchNetns(Process process, SafeFileHandle pidfd)
    {
        _process = process;
        Pidfd = pidfd;
    }

    public static async Task<ScratchNetns> StartAsync()
    {
        var process = Process.Start(new ProcessStartInfo("unshare", ["--net", "sh", "-c", "ip link set lo up && echo ready && exec sleep 300"])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("ready", await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
            return new ScratchNetns(process, NetworkNamespace.OpenProcess(process.Id));
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    /// <summary>A socket created in the namespace (it stays there whichever thread uses it).</summary>
    public Task<Socket> SocketAsync(AddressFamily family, SocketType type = SocketType.Stream) =>
        NetworkNamespace.RunInAsync(Pidfd, () => new Socket(family, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp));

    /// <summary>Runs a host command in the namespace (nsenter --net), failing the test on a non-zero exit.</summary>
    public async Task<string> RunAsync(params string[] command)
    {
        using var run = Process.Start(new ProcessStartInfo("nsenter", [$"--net=/proc/{_process.Id}/ns/net", .. command])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = run.StandardOutput.ReadToEndAsync();
        var error = run.StandardError.ReadToEndAsync();
        await run.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(run.ExitCode == 0, $"{string.Join(' ', command)}: exit {run.ExitCode}: {await error}");
        return await output;
    }

    public async ValueTask DisposeAsync()
    {
        Pidfd.Dispose();
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
