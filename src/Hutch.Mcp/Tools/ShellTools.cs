using System.ComponentModel;
using System.Text.RegularExpressions;
using Hutch.Protocol.Api;
using ModelContextProtocol.Server;

namespace Hutch.Mcp.Tools;

/// <summary>
/// `shell`, `type` and `screen`: an interactive terminal (a PTY) driven by writing and reading from a
/// cursor, for programs that want a terminal (a REPL, a prompt, a TUI). The session remembers how far
/// it read each shell, so `type` answers with what the keys made appear.
/// </summary>
internal static partial class ShellTools
{
    public static McpServerTool Open(McpSession session) => ToolFactory.Create<ShellAnswer>("shell", "Open a terminal",
        "Open an interactive shell on a terminal (a PTY, 120×40) and return its id. Use it for programs that need a " +
        "terminal or keep state between inputs (a REPL, `ssh`-like prompts); for one command, `exec` is simpler. " +
        "Type into it with `type`, read it with `screen`.",
        ToolHints.Runs with { Destructive = false },
        async ([Description("Working directory, relative to /workspace")] string? cwd = null,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var shell = await session.Client.OpenShellAsync(id, new OpenShellRequest(Cols: 120, Rows: 40, Cwd: cwd), cancellationToken).ConfigureAwait(false);
            var screen = await SettledAsync(session, id, shell.Id, TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
            return Answers.Of(screen, $"opened shell {shell.Id} in {id}:\n{screen.Output}");
        }).ConfigureAwait(false));

    public static McpServerTool Type(McpSession session) => ToolFactory.Create<ShellAnswer>("type", "Type into a terminal",
        "Type text into a shell opened with `shell` (Enter is pressed after it unless enter is false; \\u0003 is Ctrl-C, " +
        "\\u0004 Ctrl-D), wait until its output settles (at most waitSeconds), and return what appeared since the last read.",
        ToolHints.Runs,
        async ([Description("The shell's id, from `shell`")] string shell,
            [Description("What to type")] string text,
            [Description("Press Enter after the text; default true")] bool enter = true,
            [Description("Most seconds to wait for output to settle; default 3, at most 60")] double waitSeconds = 3,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await Answers.GuardAsync(async () =>
        {
            if (waitSeconds is < 0 or > 60)
            {
                throw new ToolInputException(McpCodes.InvalidArgument, $"waitSeconds is 0-60, not {waitSeconds}");
            }
            var id = await session.SandboxAsync(sandbox, cancellationToken).ConfigureAwait(false);
            await session.Client.WriteShellInputAsync(id, shell, enter ? text + "\r" : text, cancellationToken).ConfigureAwait(false);
            var screen = await SettledAsync(session, id, shell, TimeSpan.FromSeconds(waitSeconds), cancellationToken).ConfigureAwait(false);
            return Answers.Of(screen, screen.Output.Length == 0 ? "(no output yet: read it later with `screen`)" : screen.Output);
        }).ConfigureAwait(false));

    public static McpServerTool Screen(McpSession session) => ToolFactory.Create<ShellAnswer>("screen", "Read a terminal",
        "Read what a shell printed since the last read (or from a cursor), with terminal control sequences removed; " +
        "the answer says whether the shell still runs.",
        ToolHints.Reads with { Idempotent = false },
        async ([Description("The shell's id, from `shell`")] string shell,
            [Description("Read from here instead of where the last read ended (0: everything)")] long? cursor = null,
            [Description(ToolFactory.SandboxArgument)] string? sandbox = null,
            CancellationToken cancellationToken = default) => await session.AnswerAsync(sandbox, async id =>
        {
            var screen = await ReadAsync(session, id, shell, cursor ?? session.ShellCursor(id, shell), cancellationToken).ConfigureAwait(false);
            return Answers.Of(screen, screen.Output.Length == 0 ? "(nothing new)" : screen.Output);
        }).ConfigureAwait(false));

    /// <summary>Reads until nothing new came for a quarter of a second, or <paramref name="wait"/> passed.</summary>
    private static async Task<ShellAnswer> SettledAsync(McpSession session, string sandbox, string shell, TimeSpan wait, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var cursor = session.ShellCursor(sandbox, shell);
        var text = new System.Text.StringBuilder();
        var quiet = DateTimeOffset.UtcNow;
        ShellAnswer last;
        while (true)
        {
            last = await ReadAsync(session, sandbox, shell, cursor, cancellationToken).ConfigureAwait(false);
            if (last.Output.Length > 0)
            {
                text.Append(last.Output);
                quiet = DateTimeOffset.UtcNow;
            }
            cursor = last.Cursor;
            var now = DateTimeOffset.UtcNow;
            if (last.State != ProcessStates.Running || now - started >= wait || (text.Length > 0 && now - quiet >= TimeSpan.FromMilliseconds(250)))
            {
                break;
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
        return last with { Output = text.ToString() };
    }

    private static async Task<ShellAnswer> ReadAsync(McpSession session, string sandbox, string shell, long cursor, CancellationToken cancellationToken)
    {
        var output = await session.Client.ReadShellOutputAsync(sandbox, shell, cursor, session.Settings.MaxOutputBytes, "utf8", cancellationToken).ConfigureAwait(false);
        session.ShellRead(sandbox, shell, output.Cursor);
        return new ShellAnswer(sandbox, shell, output.Shell.State, output.Shell.ExitCode, Plain(output.Data), output.Cursor, output.More);
    }

    /// <summary>Terminal output without its control sequences (colours, cursor moves, titles): what a model can read.</summary>
    internal static string Plain(string terminal) => ControlSequences().Replace(terminal, "").Replace("\r\n", "\n", StringComparison.Ordinal);

    // CSI (ESC [ … final), OSC (ESC ] … BEL or ESC \), and two-character escapes.
    [GeneratedRegex(@"\x1B\[[0-?]*[ -/]*[@-~]|\x1B\][^\x07\x1B]*(?:\x07|\x1B\\)|\x1B[@-Z\\-_]")]
    private static partial Regex ControlSequences();
}

/// <summary>A shell's output.</summary>
/// <param name="Shell">The shell's id.</param>
/// <param name="State">running, or exited once it ended.</param>
/// <param name="ExitCode">Its exit status once it ended.</param>
/// <param name="Output">What it printed, control sequences removed.</param>
/// <param name="Cursor">Where the next read starts.</param>
/// <param name="More">More output is already there to read.</param>
public sealed record ShellAnswer(string Sandbox, string Shell, string State, int? ExitCode, string Output, long Cursor, bool More);
