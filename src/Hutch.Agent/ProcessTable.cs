using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Redaction;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Agent;

/// <summary>
/// The durable (background) processes that are still running, by id, and the records directory
/// their logs go to: a host directory the daemon hands over as an open descriptor, never mounted
/// inside the sandbox, so sandboxed code cannot reach it while the daemon reads it by path. A
/// process leaves the table when it has exited and its exit record is written.
/// </summary>
internal sealed class ProcessTable(SafeFileHandle? records)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Exec> _running = new(StringComparer.Ordinal);

    /// <summary>Starts a durable process; returns the error to answer with, or null and the exec to Run after Started is sent.</summary>
    public AgentError? TryStart(AgentServer server, ProcessStart request, out Exec? exec)
    {
        exec = null;
        var id = request.Id;
        if (records is null)
        {
            return new AgentError(AgentErrorCodes.Unsupported, "this agent was started without a records directory: background processes are not available");
        }
        if (!ProcessRecords.IsValidId(id))
        {
            return new AgentError(AgentErrorCodes.BadRequest, "a process id is 1-64 characters of a-z, 0-9, '-' and '_'");
        }
        if (RedactionOf(request.Redact) is { } refused)
        {
            return refused;
        }
        ProcessLog log;
        try
        {
            log = ProcessLog.Create(records, id, request.MaxLogBytes, Forget);
        }
        catch (LinuxException e) when (e.Errno == Errno.EEXIST)
        {
            return new AgentError(AgentErrorCodes.ProcessExists, $"a process with id {id} already exists");
        }
        catch (IOException e)
        {
            return new AgentError(AgentErrorCodes.SpawnFailed, $"cannot create the records of process {id}: {e.Message}");
        }
        lock (_gate)
        {
            var error = Exec.TryStart(server, RedactingOutput.Wrap(log, request.Redact), request.Command, out exec, request.Terminal);
            if (error is not null)
            {
                log.Discard(records);
                return error;
            }
            // Under the lock: a process that exits at once is only forgotten after it was added.
            _running[id] = exec!;
        }
        log.WriteStart(new ProcessStartRecord(id, request.Name, request.Argv, request.Cwd, exec!.Pid,
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), request.MaxLogBytes, request.Terminal));
        return null;
    }

    /// <summary>
    /// Carries on an exec whose connection closed (the daemon stopped or died) as a background
    /// process: from now on its output goes to a log and its exit to a record, so a restarted daemon
    /// lists it (origin "exec") and can stop it; its timeout still holds. Returns its id, or null
    /// when it ended first or its records could not be made.
    /// </summary>
    public string? Adopt(Exec exec, ChannelOutput output)
    {
        if (records is null)
        {
            return null;
        }
        var id = "x-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(5));
        var request = exec.Request;
        var maxLog = Math.Max(request.MaxOutputBytes, MinAdoptedLogBytes);
        var handed = output.HandOver(() =>
        {
            ProcessLog log;
            try
            {
                log = ProcessLog.Create(records, id, maxLog, Forget);
            }
            catch (IOException e)
            {
                Log.Write($"exec pid {exec.Pid}: cannot keep it as a background process: {e.Message}");
                return null;
            }
            lock (_gate)
            {
                _running[id] = exec;
            }
            log.WriteStart(new ProcessStartRecord(id, $"exec-{exec.Pid}", request.Argv, request.Cwd, exec.Pid, exec.StartedAtMs, maxLog,
                Origin: ProcessOrigins.Exec));
            // Checked when the exec started (Connection), so the set builds.
            return RedactingOutput.Wrap(log, request.Redact);
        });
        return handed ? id : null;
    }

    /// <summary>An error when the secrets to redact cannot make a redaction set (a value too short), else null.</summary>
    public static AgentError? RedactionOf(RedactedSecret[]? secrets)
    {
        if (secrets is not { Length: > 0 })
        {
            return null;
        }
        try
        {
            _ = RedactionSets.Of(secrets);
            return null;
        }
        catch (ArgumentException e)
        {
            return new AgentError(AgentErrorCodes.BadRequest, e.Message);
        }
    }

    /// <summary>An adopted exec keeps at least this much of its output (its own cap when larger).</summary>
    private const long MinAdoptedLogBytes = 1 << 20;

    public Exec? Find(string id)
    {
        lock (_gate)
        {
            return _running.GetValueOrDefault(id);
        }
    }

    private void Forget(string id)
    {
        lock (_gate)
        {
            _running.Remove(id);
        }
    }
}
