using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Hutch.Linux.Interop;

namespace Hutch.Linux;

/// <summary>
/// Awaits a socket becoming writable, which .NET's sockets do not offer (a zero-byte send completes
/// at once): one epoll instance of its own and one thread that waits on it. Used where bytes are
/// moved by splice(2) instead of SendAsync, so a full socket need not push them through user space.
/// One wait per socket at a time.
/// </summary>
public sealed unsafe class WritableWaiter
{
    public static WritableWaiter Shared { get; } = new();

    private readonly int _epoll;
    private readonly ConcurrentDictionary<ulong, (TaskCompletionSource Done, Socket Socket)> _waits = new();
    private long _next;

    private WritableWaiter()
    {
        _epoll = Libc.EpollCreate1(Libc.EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw new LinuxException("epoll_create1", Marshal.GetLastPInvokeError());
        }
        new Thread(Loop) { IsBackground = true, Name = "hutch writable waiter" }.Start();
    }

    public Task WaitAsync(Socket socket, CancellationToken cancellationToken)
    {
        var id = (ulong)Interlocked.Increment(ref _next);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waits[id] = (done, socket);
        // One-shot: it fires once, then stays registered but silent until removed below.
        var ev = new Libc.EpollEvent { Events = Libc.EPOLLOUT | Libc.EPOLLONESHOT, Data = id };
        if (Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_ADD, (int)socket.Handle, &ev) != 0)
        {
            _waits.TryRemove(id, out _);
            throw new LinuxException("epoll_ctl", Marshal.GetLastPInvokeError());
        }
        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() => Finish(id, cancelled: true));
            done.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }
        return done.Task;
    }

    private void Finish(ulong id, bool cancelled)
    {
        if (!_waits.TryRemove(id, out var wait))
        {
            return;
        }
        // Removed before the caller goes on, so its next wait can add the socket again.
        Libc.EpollCtl(_epoll, Libc.EPOLL_CTL_DEL, (int)wait.Socket.Handle, null);
        if (cancelled)
        {
            wait.Done.TrySetCanceled();
        }
        else
        {
            wait.Done.TrySetResult();
        }
    }

    private void Loop()
    {
        var events = stackalloc Libc.EpollEvent[64];
        while (true)
        {
            var n = Libc.EpollWait(_epoll, events, 64, -1);
            for (var i = 0; i < n; i++)
            {
                Finish(events[i].Data, cancelled: false);
            }
        }
    }
}
