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
        // Formatted by hand: DateTime's format strings pull time-zone and culture code into the binary.
        var now = DateTime.UtcNow;
        var line = Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{now.Year:D4}-{now.Month:D2}-{now.Day:D2}T{now.Hour:D2}:{now.Minute:D2}:{now.Second:D2}.{now.Millisecond:D3}Z hutch-agent[{Environment.ProcessId}]: {message}\n"));
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
