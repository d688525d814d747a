namespace Hutch.Protocol.Api;

/// <summary>
/// Body of <c>POST /v1/sandboxes/{id}/shells</c>: a process on a pseudo-terminal (docs/shells.md).
/// Without Argv and Command it runs <c>/bin/bash -l</c>, or <c>/bin/sh -l</c> where there is no bash.
/// </summary>
/// <param name="Cols">Terminal width, 1-1000 (default 80).</param>
/// <param name="Rows">Terminal height, 1-1000 (default 24).</param>
/// <param name="Cwd">Where it starts, relative to /workspace or absolute inside it; default the sandbox's.</param>
/// <param name="Env">Extra environment, over the sandbox's (TERM is xterm-256color unless set).</param>
/// <param name="Argv">A program and its arguments to run on the terminal instead of the login shell.</param>
/// <param name="Command">A shell line (<c>/bin/sh -c</c>) to run on the terminal instead; not with Argv.</param>
/// <param name="Name">Optional name to find it by (1-64 of a-z, 0-9, '-', '_').</param>
/// <param name="MaxLogBytes">Bytes of output kept on disk (65536-1073741824, default 16 MiB); older output is dropped first.</param>
public sealed record OpenShellRequest(
    int? Cols = null,
    int? Rows = null,
    string? Cwd = null,
    Dictionary<string, string>? Env = null,
    string[]? Argv = null,
    string? Command = null,
    string? Name = null,
    long? MaxLogBytes = null);

/// <summary>The window size of a shell's terminal, in character cells.</summary>
/// <param name="Cols">Width in columns.</param>
/// <param name="Rows">Height in rows.</param>
public sealed record TerminalSize(int Cols, int Rows);

/// <summary>Answer of <c>GET …/shells</c>.</summary>
/// <param name="Shells">The sandbox's shells: processes on a pseudo-terminal, running and ended.</param>
public sealed record ShellList(ProcessInfo[] Shells);

/// <summary>Body of <c>…/shells/{shell}/resize</c>: the new size, 1-1000 each.</summary>
/// <param name="Cols">Width in columns, 1-1000.</param>
/// <param name="Rows">Height in rows, 1-1000.</param>
public sealed record ResizeShellRequest(int Cols, int Rows);

/// <summary>
/// A read of a shell's output without following (<c>GET …/shells/{shell}/output</c>): what the
/// terminal wrote from a cursor up to the end so far. <see cref="Cursor"/> is where the next read
/// starts; <see cref="Dropped"/> counts bytes the size cap discarded before the requested cursor.
/// </summary>
/// <param name="Data">What the terminal wrote from the cursor, in Encoding.</param>
/// <param name="Encoding">How Data holds the bytes: "utf8" or "base64", as asked.</param>
/// <param name="Cursor">Where the next read starts (the cursor query parameter).</param>
/// <param name="Dropped">Bytes the size cap discarded before the requested cursor.</param>
/// <param name="More">More output was there than this read returned: read again from Cursor.</param>
/// <param name="Shell">The shell as it stands.</param>
public sealed record ShellOutput(string Data, string Encoding, long Cursor, long Dropped, bool More, ProcessInfo Shell);

/// <summary>
/// A text message on a shell's attach WebSocket (binary messages are raw terminal bytes). From the
/// client: <c>resize</c> with Cols and Rows. From the server: <c>cursor</c> (the log position of
/// the output sent so far, to reattach from), <c>exit</c> (ExitCode, or Signal when a signal ended
/// it; the server closes after it) and <c>error</c> (Code and Message, for a control message it refused).
/// </summary>
public sealed record ShellMessage(
    string Type,
    int? Cols = null,
    int? Rows = null,
    long? Cursor = null,
    int? ExitCode = null,
    string? Signal = null,
    string? Code = null,
    string? Message = null);

public static class ShellMessageTypes
{
    public const string Resize = "resize";
    public const string Cursor = "cursor";
    public const string Exit = "exit";
    public const string Error = "error";
}
