using System.Security.Cryptography;
using Hutch.Protocol.Agent;
using Hutch.Protocol.Api;

namespace Hutch.Daemon.Processes;

/// <summary>Ids and names of background processes: ids are "p-" and 10 random characters; names may not look like one.</summary>
internal static class ProcessNames
{
    private const string Alphabet = "abcdefghijkmnpqrstuvwxyz23456789";

    public static string NewId()
    {
        Span<char> id = stackalloc char[12];
        id[0] = 'p';
        id[1] = '-';
        for (var i = 2; i < id.Length; i++)
        {
            id[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
        }
        return new string(id);
    }

    public static void Validate(string? name)
    {
        if (name is not null && (!ProcessRecords.IsValidId(name) || name.StartsWith("p-", StringComparison.Ordinal) || name.StartsWith("session-", StringComparison.Ordinal) || name.StartsWith("service-", StringComparison.Ordinal)))
        {
            throw new HutchException(ErrorCodes.InvalidName,
                $"The process name '{name}' is not allowed. Use 1-64 of a-z, 0-9, '-' and '_', not starting with 'p-' (ids), 'session-' or 'service-' (sessions' shells and services' runs).");
        }
    }
}
