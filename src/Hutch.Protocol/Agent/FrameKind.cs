namespace Hutch.Protocol.Agent;

/// <summary>
/// The kind of one frame on the daemon ↔ agent control channel. Values are part of the
/// wire format: never renumber, only add.
/// </summary>
public enum FrameKind : byte
{
    // daemon → agent
    Ping = 0x01,
    ExecStart = 0x10,
    Stdin = 0x11,
    StdinEof = 0x12,
    Kill = 0x13,
    /// <summary>A durable process (<see cref="Agent.ProcessStart"/>); one-shot commands are <see cref="ExecStart"/>.</summary>
    ProcessStart = 0x14,
    /// <summary>A piece of a one-shot command's script (<see cref="Agent.ExecStart.ScriptBytes"/>), raw bytes, before it starts.</summary>
    Script = 0x15,
    /// <summary>Write a file secret (<see cref="Agent.SecretFile"/>); answered Ok or Error.</summary>
    SecretFile = 0x16,
    ProcessInput = 0x20,
    ProcessSignal = 0x21,
    ProcessResize = 0x22,

    // agent → daemon
    Pong = 0x81,
    Ok = 0x82,
    Started = 0x90,
    Stdout = 0x91,
    Stderr = 0x92,
    Exited = 0x93,
    Error = 0x9F,
}
