namespace Hutch.Daemon.Network;

/// <summary>What a sandbox sent, cut to a length fit to quote in a refusal's message.</summary>
internal static class Quoted
{
    public static string Clip(string text, int max = 80) => text.Length > max ? text[..max] + "…" : text;
}
