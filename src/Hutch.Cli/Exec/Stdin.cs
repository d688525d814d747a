namespace Hutch.Cli.Exec;

/// <summary>
/// Forwards this program's stdin to a command, as `docker exec -i` would, when stdin is a pipe or a file.
/// Read to the end first and sent as StdinBase64 (the exec API takes stdin whole for now); a terminal
/// is never read, so an interactive `hutch exec` does not wait for input.
/// </summary>
internal static class Stdin
{
    /// <summary>All of stdin as base64, or null when it is a terminal, closed, empty, or forwarding is off.</summary>
    public static async Task<string?> ReadAsync(CliConsole console, bool forward, CancellationToken cancellationToken)
    {
        if (!forward)
        {
            return null;
        }
        try
        {
            await using var stdin = console.OpenRedirectedStdin();
            if (stdin is null)
            {
                return null;
            }
            using var bytes = new MemoryStream();
            await stdin.CopyToAsync(bytes, cancellationToken).ConfigureAwait(false);
            return bytes.Length == 0 ? null : Convert.ToBase64String(bytes.GetBuffer(), 0, (int)bytes.Length);
        }
        catch (IOException)
        {
            return null; // fd 0 closed (started with no stdin at all): same as empty.
        }
    }
}
