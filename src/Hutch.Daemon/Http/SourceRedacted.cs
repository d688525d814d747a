using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Http;

/// <summary>
/// Marks an answer whose sandbox output was redacted where it was made (exec, logs, shell output,
/// session results, text file reads), so the response-wide pass does not read it all a second time.
/// </summary>
public static class SourceRedacted
{
    private static readonly object Key = new();

    public static void Mark(HttpContext context) => context.Items[Key] = true;

    public static bool IsMarked(HttpContext context) => context.Items.ContainsKey(Key);
}
