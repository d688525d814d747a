using Hutch.Linux;
using Hutch.Protocol.Agent;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// A command on a pseudo-terminal (a shell): the master is read by the output pump (everything is
/// Stdout: a terminal has one output stream), written by the stdin feeder, and used here for resizes
/// and Ctrl-C-like signals, each through a descriptor of its own so that each closes on its own.
/// Once the last holder of the slave closes it, a read of the master fails with EIO: the pump takes
/// that as the end of output, as it takes end of file on a pipe.
/// </summary>
internal sealed partial class Exec
{
    /// <summary>What TERM is unless the request sets it: what most terminal emulators (and xterm.js) speak.</summary>
    private const string DefaultTerm = "xterm-256color";

    /// <summary>A descriptor of the pseudo-terminal's master, or null for a command on pipes. Closed with the rest, under the gate.</summary>
    private readonly SafeFileHandle? _terminal;

    /// <summary>Pseudo-terminals come only with durable processes (<see cref="ProcessStart.Terminal"/>), so only their size is checked here.</summary>
    private static AgentError? TerminalRequestError(TerminalRecord terminal) =>
        terminal.Cols is < 1 or > Pty.MaxDimension || terminal.Rows is < 1 or > Pty.MaxDimension
            ? new AgentError(AgentErrorCodes.BadRequest, $"a pseudo-terminal needs cols and rows between 1 and {Pty.MaxDimension}")
            : null;

    /// <summary>
    /// A new pseudo-terminal at the requested size (set before the spawn, so the program's first
    /// look at it is right): the master to read, a duplicate to write input to, another for
    /// control, and the slave's path for the child to open as its controlling terminal.
    /// </summary>
    private static (SafeFileHandle Read, SafeFileHandle Input, SafeFileHandle Control, string Slave) OpenTerminal(int cols, int rows)
    {
        var (master, slave) = Pty.Open();
        SafeFileHandle? input = null;
        try
        {
            Pty.SetSize(master, cols, rows);
            input = Fds.Duplicate(master);
            return (master, input, Fds.Duplicate(master), slave);
        }
        catch
        {
            input?.Dispose();
            master.Dispose();
            throw;
        }
    }

    /// <summary>Sets the terminal's size (the kernel sends SIGWINCH to its foreground group) and records it.</summary>
    public AgentError? Resize(int cols, int rows)
    {
        lock (_gate)
        {
            if (_terminal is null)
            {
                return NotATerminal();
            }
            if (_done)
            {
                return new AgentError(AgentErrorCodes.ProcessNotRunning, "the process has ended");
            }
            Pty.SetSize(_terminal, cols, rows);
            // Under the gate: the output is told of the exit only after Finish took it, so its
            // records are still open here.
            _output.TerminalResized(cols, rows);
        }
        return null;
    }

    /// <summary>
    /// Sends a signal to the terminal's foreground process group, as the terminal does for Ctrl-C:
    /// a command the shell runs is interrupted and the shell survives. When no group is in the
    /// foreground (the shell is gone), the process's own group gets it.
    /// </summary>
    public AgentError? SignalForeground(int signal)
    {
        int group;
        lock (_gate)
        {
            if (_terminal is null)
            {
                return NotATerminal();
            }
            if (_done)
            {
                return null; // crossed with the exit: as for any late signal
            }
            try
            {
                group = Pty.ForegroundProcessGroup(_terminal);
            }
            catch (IOException)
            {
                group = 0;
            }
        }
        // The child was started with setsid: its process group id is its pid.
        Processes.Signal(-(group > 0 ? group : Pid), signal);
        return null;
    }

    private AgentError NotATerminal() => new("not_a_terminal", $"process pid {Pid} was not started on a pseudo-terminal");
}
