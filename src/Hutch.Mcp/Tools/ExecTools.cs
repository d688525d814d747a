using System.ComponentModel;
using Hutch.Protocol.Api;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Hutch.Mcp.Tools;

/// <summary>`exec`, `run` and `output`: commands and the output a budget cut.</summary>
internal static class ExecTools
{
    private const long DefaultTimeoutSeconds = 120;

    public static McpServerTool Exec(McpSession session) => ToolFactory.Create<ExecAnswer>("exec", "Run a command",
        "Run a shell command (/bin/sh -c) in the sandbox and return its exit status and output. The sandbox is a " +
        "Linux machine with /workspace as the working directory. Files stay between calls; each call is a new " +
        "shell, so a `cd` or a variable does not (use `cd dir && …` in one command). Output past " +
        $"{session.Settings.MaxOutputBytes / 1024} KiB per call is cut to its head and tail with a marker saying how to read the rest " +
        "(the `output` tool). Long commands report progress; cancelling the call kills the command.",
        ToolHints.Runs,
        async ([Description("The command line, run by /bin/sh -c, e.g. `python3 script.py` or `ls -la src`")] string command,
            [Description("Working directory, relative to /workspace; default /workspace")] string? cwd = null,
            [Description("Seconds before the command's whole process tree is killed; default 120, at most 3600")] long? timeoutSeconds = null,
            [Description("Text given on stdin")] string? stdin = null,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            IProgress<ProgressNotificationValue>? progress = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var answer = await ExecRunner.RunAsync(session.Client, id, Request(command, cwd, timeoutSeconds, stdin), session.Settings.MaxOutputBytes,
                canReadCut: true, progress, cancellationToken).ConfigureAwait(false);
            return Answers.Of(answer, ExecRunner.Text(answer));
        }).ConfigureAwait(false));

    public static McpServerTool Run(McpSession session) => ToolFactory.Create<ExecAnswer>("run", "Run a command in a fresh sandbox",
        "Run a shell command (/bin/sh -c) in a new, empty Linux sandbox that is deleted afterwards, and return its " +
        "exit status and output. Nothing persists between calls: put the whole task in one command " +
        "(`cat > x.py <<'EOF' … EOF && python3 x.py`). Output past " +
        $"{session.Settings.MaxOutputBytes / 1024} KiB is cut to its head and tail. Cancelling the call kills the command.",
        ToolHints.Runs with { Destructive = false },
        async ([Description("The command line, run by /bin/sh -c")] string command,
            [Description("Seconds before the command is killed; default 120, at most 3600")] long? timeoutSeconds = null,
            [Description("Text given on stdin")] string? stdin = null,
            IProgress<ProgressNotificationValue>? progress = null,
            CancellationToken cancellationToken = default) => await Answers.GuardAsync(async () =>
        {
            var request = Request(command, null, timeoutSeconds, stdin);
            var created = await session.Client.CreateSandboxAsync(new CreateSandboxRequest(TtlSeconds: 2 * 3600,
                Labels: new Dictionary<string, string> { [McpSession.Label] = "run" }), cancellationToken).ConfigureAwait(false);
            try
            {
                var answer = await ExecRunner.RunAsync(session.Client, created.Id, request, session.Settings.MaxOutputBytes,
                    canReadCut: false, progress, cancellationToken).ConfigureAwait(false);
                return Answers.Of(answer, ExecRunner.Text(answer));
            }
            finally
            {
                await session.Client.BeginDeleteSandboxAsync(created.Id, cancellationToken: CancellationToken.None).ConfigureAwait(false);
            }
        }).ConfigureAwait(false));

    public static McpServerTool Output(McpSession session) => ToolFactory.Create<OutputAnswer>("output", "Read more of a cut output",
        "Read a command's output that `exec` cut, from a byte offset: the marker in `exec`'s answer gives the output id, " +
        "the stream and the offset to start at. Returns up to maxBytes and the offset to read on from.",
        ToolHints.Reads,
        async ([Description("The output id from exec's answer")] string output,
            [Description("\"stdout\" or \"stderr\"")] string stream = "stdout",
            [Description("Byte offset to read from")] long offset = 0,
            [Description("Most bytes to return; default and at most the server's budget")] int? maxBytes = null,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await Answers.GuardAsync(async () =>
        {
            if (stream is not ("stdout" or "stderr"))
            {
                throw new ToolInputException(McpCodes.InvalidArgument, $"stream is 'stdout' or 'stderr', not '{stream}'");
            }
            var id = await session.SandboxAsync(sandbox, cancellationToken).ConfigureAwait(false);
            var limit = Math.Clamp(maxBytes ?? session.Settings.MaxOutputBytes, 1, session.Settings.MaxOutputBytes);
            await using var read = await session.Client.ReadExecOutputAsync(id, output, stream, offset, limit, cancellationToken).ConfigureAwait(false);
            var bytes = new MemoryStream();
            await read.CopyToAsync(bytes, cancellationToken).ConfigureAwait(false);
            var data = bytes.ToArray();
            var text = ShownOutput.IsText(data);
            var answer = new OutputAnswer(id, output, stream, offset, data.Length, offset + data.Length,
                text ? System.Text.Encoding.UTF8.GetString(data) : Convert.ToBase64String(data), text ? "utf8" : "base64");
            return Answers.Of(answer, $"{data.Length:N0} bytes of {stream} from offset {offset:N0} (read on from {answer.Next:N0}):\n{answer.Data}");
        }).ConfigureAwait(false));

    private static ExecRequest Request(string command, string? cwd, long? timeoutSeconds, string? stdin)
    {
        if (string.IsNullOrWhiteSpace(command))
        {
            throw new ToolInputException(McpCodes.InvalidArgument, "command is empty: give the shell command line to run");
        }
        var seconds = timeoutSeconds ?? DefaultTimeoutSeconds;
        if (seconds is < 1 or > 3600)
        {
            throw new ToolInputException(McpCodes.InvalidArgument, $"timeoutSeconds is 1-3600, not {seconds}");
        }
        return new ExecRequest(Command: command, Cwd: cwd, Stdin: stdin, TimeoutMs: seconds * 1000);
    }
}

/// <summary>A piece of a kept output.</summary>
/// <param name="Sandbox">The sandbox the output is kept in.</param>
/// <param name="Output">The kept output's id.</param>
/// <param name="Stream">stdout or stderr.</param>
/// <param name="Offset">Where these bytes start.</param>
/// <param name="Length">How many bytes were read (0 at the end).</param>
/// <param name="Next">The offset to read on from.</param>
/// <param name="Data">The bytes, as text, or base64 when they are not text.</param>
/// <param name="Encoding">"utf8" or "base64".</param>
public sealed record OutputAnswer(string Sandbox, string Output, string Stream, long Offset, int Length, long Next, string Data, string Encoding);
