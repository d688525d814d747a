namespace Hutch.Protocol.Api;

/// <summary>Body of <c>POST /v1/sandboxes/{id}/sessions</c>: a persistent shell, like a terminal tab.</summary>
/// <param name="Name">1-48 of a-z, 0-9, '-', '_'; generated when left out. Unique among the sandbox's running sessions.</param>
/// <param name="Cwd">Where the shell starts; default the sandbox's cwd.</param>
/// <param name="Env">Extra environment of the shell, over the sandbox's.</param>
public sealed record CreateSessionRequest(string? Name = null, string? Cwd = null, Dictionary<string, string>? Env = null);

/// <summary>A session: its shell is the background process <see cref="ProcessId"/>.</summary>
/// <param name="Name">Its name, unique among the sandbox's running sessions.</param>
/// <param name="ProcessId">The background process of its shell (its logs hold everything the session printed).</param>
/// <param name="Shell">The shell that runs the commands (/bin/bash, else /bin/sh).</param>
/// <param name="Pid">The shell's pid inside the sandbox.</param>
/// <param name="CreatedAt">When the session was created.</param>
/// <param name="State">running, or ended (the shell exited, was killed, or its sandbox stopped).</param>
public sealed record SessionInfo(string Name, string ProcessId, string State, string Shell, int Pid, DateTimeOffset CreatedAt);

/// <summary>Answer of <c>GET …/sessions</c>.</summary>
/// <param name="Sessions">The sandbox's sessions.</param>
public sealed record SessionList(SessionInfo[] Sessions);

/// <summary>Body of <c>POST …/sessions/{name}/exec</c>: a command line run by the session's shell, after the ones before it.</summary>
/// <param name="Command">A command line for the session's shell, run after the ones before it.</param>
/// <param name="TimeoutMs">Wall-clock limit (1-86400000, default 60000): the command's processes are killed, the shell lives on.</param>
/// <param name="MaxOutputBytes">Bytes of stdout and of stderr kept (1-1073741824, default 16 MiB).</param>
/// <param name="Encoding">"utf8" (default) or "base64".</param>
public sealed record SessionExecRequest(string Command, long? TimeoutMs = null, long? MaxOutputBytes = null, string? Encoding = null);

public static class SessionStates
{
    public const string Running = "running";
    public const string Ended = "ended";
}
