using System.Globalization;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>
/// User namespaces made only to name an id map (for idmapped mounts, <see cref="IdMappedOverlay"/>):
/// no process is left in them. A namespace needs a process to be created in, and managed code never
/// forks (<see cref="Spawn"/>), so util-linux's unshare(1) makes it around a `cat` that waits on a
/// pipe; root writes the map from outside (user_namespaces(7)), keeps a descriptor, and closes the
/// pipe: the descriptor keeps the namespace alive after its only process has gone.
/// </summary>
public static unsafe class UserNamespaces
{
    /// <summary>A namespace mapping ids 0..size-1 inside to hostBase.. on the host, for uids and gids.</summary>
    /// <exception cref="LinuxException">The helper could not start, or the map could not be written.</exception>
    public static SafeFileHandle Create(int hostBase, int size)
    {
        var fds = stackalloc int[2];
        LinuxException.ThrowIfFailed(Libc.Pipe2(fds, Libc.O_CLOEXEC), "pipe2");
        using var stdin = new SafeFileHandle(fds[0], ownsHandle: true);
        var writer = new SafeFileHandle(fds[1], ownsHandle: true);
        int pid;
        try
        {
            pid = Spawn.Start(new SpawnRequest(Unshare, ["unshare", "--user", "--", Cat],
                ["PATH=/usr/bin:/bin", "LC_ALL=C"], "/", new Dictionary<int, System.Runtime.InteropServices.SafeHandle> { [0] = stdin }, NewSession: false));
        }
        catch
        {
            writer.Dispose();
            throw;
        }
        try
        {
            var ownNamespace = NamespaceOf("self");
            var deadline = Environment.TickCount64 + 5_000;
            var process = pid.ToString(CultureInfo.InvariantCulture);
            // unshare(2) runs in the child before it execs cat: wait until its namespace is not ours.
            while (NamespaceOf(process) == ownNamespace)
            {
                if (Environment.TickCount64 > deadline)
                {
                    throw new LinuxException("unshare --user", Errno.EAGAIN, "the helper did not enter a new user namespace within 5 s");
                }
                Thread.Sleep(1);
            }
            var map = $"0 {hostBase.ToString(CultureInfo.InvariantCulture)} {size.ToString(CultureInfo.InvariantCulture)}\n";
            File.WriteAllText($"/proc/{process}/uid_map", map);
            File.WriteAllText($"/proc/{process}/gid_map", map);
            return File.OpenHandle($"/proc/{process}/ns/user", FileMode.Open, FileAccess.Read);
        }
        finally
        {
            writer.Dispose(); // cat reads end of file and exits
            Processes.WaitFor(pid);
        }
    }

    private const string Unshare = "/usr/bin/unshare";
    private const string Cat = "/bin/cat";

    private static string? NamespaceOf(string process)
    {
        try
        {
            return new FileInfo($"/proc/{process}/ns/user").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
