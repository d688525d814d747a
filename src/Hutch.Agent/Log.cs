using System.Globalization;
using System.Text;
using Hutch.Linux;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// Short lines on stderr, which the daemon redirects to a host file. Written straight to fd 2
/// (System.Console would add size and memory to every sandbox). Never log argv, env or output:
/// they may hold secrets.
/// </summary>
internal static class Log
{
    private static readonly SafeFileHandle Stderr = new(2, ownsHandle: false);
    private static readonly Lock Gate = new();

    public static void Write(string message)
    {
        var line = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} hutch-agent[{Environment.ProcessId}]: {message}\n"));
        lock (Gate)
        {
            try
            {
                Fds.WriteAll(Stderr, line);
            }
            catch (IOException)
            {
                // stderr is gone: nowhere left to complain to
            }
        }
    }
}
