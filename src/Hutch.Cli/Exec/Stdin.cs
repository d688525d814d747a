namespace Hutch.Cli.Exec;

/// <summary>What `exec` and `run` do with hutch's own stdin (-i, --no-stdin, or neither).</summary>
internal enum StdinMode
{
    /// <summary>Neither flag: a regular file is forwarded (it always ends); a pipe or terminal is not read.</summary>
    Auto,

    /// <summary>-i: read stdin to its end, whatever it is, and give it to the command.</summary>
    Forward,

    /// <summary>--no-stdin: never read.</summary>
    Never,
}

/// <summary>
/// Gives a command hutch's stdin, by a rule that never waits on a stdin nobody will close. The exec
/// API takes stdin whole, before the command starts, so a pipe has to be read to its end first: a
/// harness that spawns hutch with a pipe it never writes nor closes (Node's child_process.spawn does,
/// by default) would wait forever. So a pipe is read only when asked with -i, as `docker exec -i` and
/// `kubectl exec -i` ask; a regular file (`&lt; input.txt`) is read up to the length it has, which
/// cannot block; a terminal is never read. Without -i the command's stdin is /dev/null.
/// </summary>
internal static class Stdin
{
    /// <summary>
    /// The most stdin an exec is given whole. The sandbox's agent holds at most 16 MiB a command has
    /// not read yet and drops the rest (StdinFeeder.MaxPending), so more could reach a slow reader cut
    /// short without a word; and the daemon takes a body of about 30 MB, base64 included.
    /// </summary>
    public const long MostBytes = Hutch.Protocol.Api.ExecLimits.MaxStdinBytes;

    /// <summary>stdin as base64 for <c>StdinBase64</c>, or null for /dev/null. Cancelling abandons a read that blocks.</summary>
    public static async Task<string?> ReadAsync(CliConsole console, StdinMode mode, CancellationToken cancellationToken)
    {
        if (mode == StdinMode.Never)
        {
            return null;
        }
        var kind = console.StdinKind;
        if (kind.IsTerminal)
        {
            return mode == StdinMode.Forward
                ? throw new CliException(Hutch.Protocol.Api.ErrorCodes.InvalidRequest,
                    "-i reads stdin to its end before the command starts, and stdin is a terminal: pipe the input in (`hutch exec -i ID -- cmd < file`), or use `hutch shell ID` to type into a command",
                    ExitCodes.Usage)
                : null;
        }
        if (kind.FileBytes is null && mode != StdinMode.Forward)
        {
            return null; // A pipe without -i: see the class's comment, and ReportUnread.
        }
        if (kind.FileBytes == 0)
        {
            return null;
        }
        // A blocking read on the console stream does not see the token: run it aside and stop waiting
        // for it on a signal, so Ctrl-C and SIGTERM end hutch at once even while a pipe stays open.
        var read = Task.Run(() => ReadAll(console, kind.FileBytes), CancellationToken.None);
        var bytes = await read.WaitAsync(cancellationToken).ConfigureAwait(false);
        return bytes.Length == 0 ? null : Convert.ToBase64String(bytes);
    }

    /// <summary>
    /// After a command ran without hutch's stdin: a note for a person at a terminal whose pipe had
    /// input (or was closed) by then, so `echo hi | hutch exec ID -- cat` printing nothing says why.
    /// A pipe that stays open and empty (a harness's) gets no note, nor does a caller that captures stderr.
    /// </summary>
    public static void ReportUnread(CliConsole console, StdinMode mode)
    {
        if (mode != StdinMode.Auto || console.StdinKind.UnreadInputToTell is not { } tell || !tell())
        {
            return;
        }
        console.Fail("stdin is a pipe and was not read: pass -i to give it to the command (it is then read to its end before the command starts)", "stdin_not_read");
    }

    private static byte[] ReadAll(CliConsole console, long? limit)
    {
        try
        {
            using var stdin = console.OpenRedirectedStdin();
            if (stdin is null)
            {
                return [];
            }
            using var bytes = new MemoryStream();
            var buffer = new byte[81920];
            var left = Math.Min(limit ?? long.MaxValue, MostBytes + 1); // one byte more tells "too much" from "just fits"
            while (left > 0)
            {
                var n = stdin.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                if (n == 0)
                {
                    break;
                }
                bytes.Write(buffer, 0, n);
                left -= n;
            }
            return bytes.Length <= MostBytes ? bytes.ToArray() : throw new CliException("stdin_too_large",
                $"stdin is over {Output.Format.Bytes(MostBytes)}, more than a command is given whole: copy the input into the sandbox " +
                "(`hutch fs write ID input.bin < FILE`) and run `cmd < input.bin`, or pass --no-stdin if the command does not read it");
        }
        catch (IOException)
        {
            return []; // fd 0 closed (started with no stdin at all): same as empty.
        }
    }
}
