using System.Text;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>
/// Runs a small host program to its end on the calling thread, synchronously: its stdin is the given
/// bytes, its stdout and stderr go to one memfd read afterwards. The child is started with
/// posix_spawn, which clones the calling thread, so it inherits that thread's namespaces: run inside
/// <see cref="NetworkNamespace.RunInAsync"/> and the program works in the sandbox's network namespace
/// (System.Diagnostics.Process also forks on the calling thread, but it reaps from its own SIGCHLD
/// handler and gives no such guarantee in its contract).
/// </summary>
public static unsafe class ShortCommand
{
    /// <summary>A pipe holds this much without a reader (pipe(7)): stdin is written whole before the start.</summary>
    private const int MaxInput = 64 * 1024;
    private const int MaxOutput = 64 * 1024;

    /// <returns>How it ended and the first 64 KiB of what it printed (stdout and stderr interleaved).</returns>
    /// <exception cref="LinuxException">The program could not be started (ENOENT, EACCES, …).</exception>
    public static (ExitStatus Status, string Output) Run(string path, IReadOnlyList<string> argv, ReadOnlySpan<byte> input)
    {
        if (input.Length > MaxInput)
        {
            throw new ArgumentException($"stdin is limited to {MaxInput} bytes", nameof(input));
        }
        var fds = stackalloc int[2];
        LinuxException.ThrowIfFailed(Libc.Pipe2(fds, Libc.O_CLOEXEC), "pipe2");
        using var stdin = new SafeFileHandle(fds[0], ownsHandle: true);
        using (var writer = new SafeFileHandle(fds[1], ownsHandle: true))
        {
            fixed (byte* p = input)
            {
                for (var written = 0; written < input.Length;)
                {
                    var n = Libc.Write((int)writer.DangerousGetHandle(), p + written, input.Length - written);
                    written += n >= 0 ? (int)n : throw new LinuxException("write(pipe)", System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
                }
            }
        } // closed: the program reads its input, then end of file
        using var output = new SafeFileHandle(LinuxException.ThrowIfFailed(Libc.MemfdCreate("hutch-command-output", Libc.MFD_CLOEXEC), "memfd_create"), ownsHandle: true);
        var pid = Spawn.Start(new SpawnRequest(
            path,
            argv,
            [$"PATH={Environment.GetEnvironmentVariable("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}", "LC_ALL=C"],
            Cwd: "/",
            new Dictionary<int, System.Runtime.InteropServices.SafeHandle> { [0] = stdin, [1] = output, [2] = output },
            NewSession: false));
        var status = Processes.WaitFor(pid);
        var buffer = new byte[MaxOutput];
        var read = RandomAccess.Read(output, buffer, fileOffset: 0);
        return (status, Encoding.UTF8.GetString(buffer, 0, read).Trim());
    }
}
