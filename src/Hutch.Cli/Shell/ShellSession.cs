using Hutch.Client;

namespace Hutch.Cli.Shell;

/// <summary>
/// Plays an attached shell on this process's streams: its output to stdout as it comes, stdin to
/// its terminal as it is typed (or read, from a pipe), until the shell exits or the connection ends.
/// </summary>
internal static class ShellSession
{
    /// <summary>Ctrl-D: what the terminal's line discipline takes as end of input.</summary>
    private const byte EndOfInput = 0x04;

    /// <summary>How it ended: the shell's exit, or null when the connection ended first (the shell runs on).</summary>
    public sealed record Outcome(ShellExitEvent? Exit, ShellErrorEvent? LastError);

    /// <param name="typeEndOfInput">
    /// When <paramref name="input"/> ends, type Ctrl-D, so a shell fed from a pipe ends with it as it
    /// would at a terminal (a terminal's own stdin never ends while it is open).
    /// </param>
    public static async Task<Outcome> RunAsync(ShellAttachment shell, Stream? input, Stream output, bool typeEndOfInput, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var typing = input is null ? Task.CompletedTask : TypeAsync(shell, input, typeEndOfInput, stop.Token);
        ShellErrorEvent? lastError = null;
        try
        {
            while (await shell.ReadAsync(cancellationToken).ConfigureAwait(false) is { } e)
            {
                switch (e)
                {
                    case ShellOutputEvent o:
                        await output.WriteAsync(o.Data, cancellationToken).ConfigureAwait(false);
                        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                        break;
                    case ShellErrorEvent error:
                        lastError = error;
                        break;
                }
            }
            return new Outcome(shell.Exit, lastError);
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            // A read of the terminal cannot be cancelled: its thread is left blocked and ends with the process.
            if (input is null || typing.IsCompleted)
            {
                await Quietly(typing).ConfigureAwait(false);
            }
        }
    }

    private static async Task TypeAsync(ShellAttachment shell, Stream input, bool typeEndOfInput, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            await shell.SendInputAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
        }
        if (typeEndOfInput)
        {
            await shell.SendInputAsync(new[] { EndOfInput }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Input ending badly (the connection went first) is reported by the output side.</summary>
    private static async Task Quietly(Task typing)
    {
        try
        {
            await typing.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or HutchApiException or IOException)
        {
        }
    }
}
