using System.Security.Cryptography;

namespace Hutch.Daemon.Sandboxes;

/// <summary>Sandbox ids, and the host uid ranges they are given.</summary>
public static class SandboxIds
{
    /// <summary>First host uid given to sandboxes; each gets the next free 65536-id range.</summary>
    public const int FirstHostId = 1_000_000;

    public static string New()
    {
        const string alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
        Span<char> id = stackalloc char[10];
        for (var i = 0; i < id.Length; i++)
        {
            id[i] = alphabet[RandomNumberGenerator.GetInt32(alphabet.Length)];
        }
        return "sb-" + new string(id);
    }
}
