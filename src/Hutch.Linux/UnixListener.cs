using System.Text;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Linux;

/// <summary>
/// A listening AF_UNIX socket made with raw calls, to be handed to another process (the sandbox's
/// agent, as fd 3). Not System.Net.Sockets: a .NET Socket unlinks the path it bound when it is
/// disposed, which would remove the control channel's address as soon as the daemon lets go of it.
/// </summary>
public static unsafe class UnixListener
{
    public static SafeFileHandle Listen(string path, int backlog)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length >= Libc.SunPathSize)
        {
            throw new ArgumentException($"Unix socket path is {bytes.Length} bytes; the limit is {Libc.SunPathSize - 1}: {path}", nameof(path));
        }
        var fd = LinuxException.ThrowIfFailed(Libc.Socket(Libc.AF_UNIX, Libc.SOCK_STREAM | Libc.SOCK_CLOEXEC, 0), "socket");
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var address = stackalloc byte[2 + Libc.SunPathSize];
            *(ushort*)address = Libc.AF_UNIX;
            bytes.CopyTo(new Span<byte>(address + 2, Libc.SunPathSize));
            address[2 + bytes.Length] = 0;
            LinuxException.ThrowIfFailed(Libc.Bind(fd, address, 2 + bytes.Length + 1), "bind", path);
            LinuxException.ThrowIfFailed(Libc.Listen(fd, backlog), "listen", path);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
