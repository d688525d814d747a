using Hutch.Daemon.Registry;
using Hutch.Runtime.AgentLink;

namespace Hutch.Daemon.Sandboxes;

/// <summary>A sandbox this engine is connected to: its registry row and its agent's control channel.</summary>
public sealed class LiveSandbox(SandboxRecord record, AgentConnection connection)
{
    /// <summary>The registry row as last known; replaced when a pooled sandbox is claimed.</summary>
    public SandboxRecord Record { get; set; } = record;
    public AgentConnection Connection { get; } = connection;

    /// <summary>Set when a delete began: the connection's end is then expected, not a loss.</summary>
    public volatile bool Deleting;

    /// <summary>uid (and gid) the agent and the commands run as inside.</summary>
    public int Uid => Record.SandboxUid;
}
