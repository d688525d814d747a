namespace Hutch.Protocol.Agent;

/// <summary>One decoded frame: a kind, the channel (one per request) it belongs to, and its payload.</summary>
public readonly record struct Frame(FrameKind Kind, uint Channel, ReadOnlyMemory<byte> Payload);
