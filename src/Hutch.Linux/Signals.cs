using System.Runtime.InteropServices;
using Hutch.Linux.Interop;

namespace Hutch.Linux;

/// <summary>Signal dispositions of the calling process.</summary>
public static class Signals
{
    /// <summary>
    /// Sets SIG_IGN: the kernel drops the signal, no handler thread runs. Children started with
    /// <see cref="Spawn"/> get every disposition reset to default, so this never leaks into them.
    /// </summary>
    public static void Ignore(int signal)
    {
        if (Libc.SignalHandler(signal, Libc.SIG_IGN) == Libc.SIG_ERR)
        {
            throw new LinuxException("signal", Marshal.GetLastPInvokeError(), Processes.SignalName(signal));
        }
    }
}
