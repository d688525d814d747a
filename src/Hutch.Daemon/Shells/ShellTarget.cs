namespace Hutch.Daemon.Shells;

/// <summary>A shell of a live sandbox, looked up once.</summary>
public sealed record ShellTarget(LiveSandbox Live, string Id);
