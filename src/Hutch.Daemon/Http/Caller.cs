using Microsoft.AspNetCore.Http;

namespace Hutch.Daemon.Http;

/// <summary>
/// Who sent a request, as the key check established it: the identity of the API key (never the key
/// itself). Per-key budgets partition on it, so when the daemon has several keys each gets its own.
/// </summary>
internal static class Caller
{
    private static readonly object Slot = new();

    public static void Set(HttpContext context, string keyId) => context.Items[Slot] = keyId;

    /// <summary>The caller's key identity; "anonymous" only for a request that never passed the key check.</summary>
    public static string KeyOf(HttpContext context) => context.Items[Slot] as string ?? "anonymous";
}
