using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Agent;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// A one-shot command's script while its Script frames arrive (<see cref="ExecStart.ScriptBytes"/>):
/// kept in a memory file of the sandbox's (its memory limit pays for it), handed to the command on
/// descriptor <see cref="ExecScript.Fd"/> once the last byte is in. A failed script still counts
/// the bytes that arrive for it, so the channel's one error is sent once and the rest is dropped.
/// </summary>
internal sealed class PendingScript : IDisposable
{
    private SafeFileHandle? _file;

    private PendingScript(ExecStart request, SafeFileHandle? file)
    {
        Request = request;
        _file = file;
    }

    public ExecStart Request { get; }

    /// <summary>The memory file, not on <see cref="ExecScript.Fd"/> itself (a dup2 onto itself would keep it close-on-exec).</summary>
    public SafeFileHandle File => _file ?? throw new InvalidOperationException("the script failed");

    public long Received { get; private set; }

    public bool IsComplete => Received >= Request.ScriptBytes;

    /// <summary>Set once the script failed: its error was sent, its remaining frames are dropped.</summary>
    public bool Failed => _file is null;

    /// <summary>
    /// A script for <paramref name="request"/>, and the error to answer it with when it cannot be held
    /// (the script is then a failed one, which takes its frames and drops them).
    /// </summary>
    public static AgentError? TryCreate(ExecStart request, out PendingScript script)
    {
        script = new PendingScript(request, null);
        if (request.ScriptBytes > ExecScript.MaxBytes)
        {
            return new AgentError(AgentErrorCodes.BadRequest, $"a script may be at most {ExecScript.MaxBytes} bytes");
        }
        try
        {
            var file = Fds.CreateMemoryFile("hutch-script");
            if ((int)file.DangerousGetHandle() == ExecScript.Fd)
            {
                var first = file;
                file = Fds.Duplicate(first);
                first.Dispose();
            }
            script = new PendingScript(request, file);
            return null;
        }
        catch (LinuxException e)
        {
            return new AgentError(AgentErrorCodes.SpawnFailed, $"cannot hold the command's script: {e.Message}");
        }
    }

    /// <summary>Appends a Script frame; the error to answer with when it cannot (once: afterwards the script is failed and drops what comes).</summary>
    public AgentError? Append(ReadOnlySpan<byte> data)
    {
        Received += data.Length;
        if (_file is null)
        {
            return null;
        }
        if (Received > Request.ScriptBytes)
        {
            Dispose();
            return new AgentError(AgentErrorCodes.BadRequest, $"the script's frames hold more than the {Request.ScriptBytes} bytes announced");
        }
        try
        {
            Fds.WriteAll(_file, data);
            return null;
        }
        catch (LinuxException e)
        {
            // ENOSPC or ENOMEM: the sandbox's memory limit cannot hold it.
            Dispose();
            return new AgentError(AgentErrorCodes.SpawnFailed, $"the command's script does not fit the sandbox's memory ({e.Message}); give it more memory, or write the script to a file and run that");
        }
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
    }
}
