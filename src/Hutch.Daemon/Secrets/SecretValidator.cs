using System.Text.RegularExpressions;
using Hutch.Daemon.Network;

namespace Hutch.Daemon.Secrets;

/// <summary>
/// What a secret may be (docs/secrets.md): a name a shell could export, a value of 8 bytes to 64 KiB,
/// host names or globs. Every problem is named with its field in one <see cref="ErrorCodes.InvalidSecret"/>;
/// no message ever quotes a value.
/// </summary>
public static partial class SecretValidator
{
    public const int MinValueBytes = Hutch.Protocol.Redaction.RedactionSet.MinRun;
    public const int MaxValueBytes = 64 * 1024;
    public const int MaxDescription = 1024;
    public const int MaxHosts = 64;

    /// <summary>The name, checked (for routes: a bad one is simply not found, never echoed back unchecked).</summary>
    public static string Name(string? name, string field = "name") => name is not null && NamePattern().IsMatch(name)
        ? name
        : throw Invalid($"{field}: a secret's name is 1-128 of A-Z, 0-9 and _, not starting with a digit (as an environment variable's), like OPENAI_API_KEY");

    /// <summary>The value's bytes from exactly one of text and base64.</summary>
    public static byte[] Value(string? text, string? base64)
    {
        if ((text is null) == (base64 is null))
        {
            throw Invalid("value: give the value in exactly one of value (text) and valueBase64");
        }
        byte[] bytes;
        if (text is not null)
        {
            bytes = System.Text.Encoding.UTF8.GetBytes(text);
        }
        else
        {
            try
            {
                bytes = Convert.FromBase64String(base64!);
            }
            catch (FormatException)
            {
                throw Invalid("valueBase64: not valid base64");
            }
        }
        return bytes.Length switch
        {
            < MinValueBytes => throw Invalid($"value: a secret's value is at least {MinValueBytes} bytes (shorter ones could not be told apart from ordinary output when they are redacted)"),
            > MaxValueBytes => throw Invalid($"value: a secret's value is at most {MaxValueBytes / 1024} KiB"),
            _ => bytes,
        };
    }

    public static string? Description(string? description) => description is { Length: > MaxDescription }
        ? throw Invalid($"description: at most {MaxDescription} characters")
        : description;

    /// <summary>Host names and globs, each optionally with a port, normalized as the network policy's are.</summary>
    public static string[] Hosts(string[]? hosts)
    {
        if (hosts is null)
        {
            return [];
        }
        if (hosts.Length > MaxHosts)
        {
            throw Invalid($"hosts: at most {MaxHosts} entries");
        }
        var problems = new List<string>();
        var normalized = new List<string>();
        for (var i = 0; i < hosts.Length; i++)
        {
            var entry = PolicyEntryParser.Parse(hosts[i], allowOpenNetworks: false, out var error);
            if (entry is null)
            {
                problems.Add($"hosts[{i}]: {error}");
            }
            else if (entry.Kind is not (PolicyEntryKind.Host or PolicyEntryKind.Glob))
            {
                problems.Add($"hosts[{i}]: '{entry.Text}' is an address; a secret goes to host names (or globs) only");
            }
            else
            {
                normalized.Add(entry.Text);
            }
        }
        return problems.Count == 0 ? [.. normalized.Distinct()] : throw Invalid(string.Join("; ", problems));
    }

    /// <summary>
    /// Where a placeholder is replaced in requests to the secret's hosts: "header" (the default),
    /// "query" and "body". Only for a secret with hosts.
    /// </summary>
    public static string[] Substitute(string[]? substitute, string[] hosts)
    {
        if (substitute is null)
        {
            return [SecretSubstitutions.Header];
        }
        if (hosts.Length == 0)
        {
            throw Invalid("substitute: only a secret with hosts is substituted (its placeholder, in requests to them)");
        }
        for (var i = 0; i < substitute.Length; i++)
        {
            if (substitute[i] is not (SecretSubstitutions.Header or SecretSubstitutions.Query or SecretSubstitutions.Body))
            {
                throw Invalid($"substitute[{i}]: '{Quoted.Clip(substitute[i] ?? "", 32)}' is not one of header, query, body");
            }
        }
        return substitute.Length == 0 ? throw Invalid("substitute: give at least one of header, query, body") : [.. substitute.Distinct()];
    }

    /// <summary>Whether <paramref name="name"/> can name a shell's environment variable (where a secret's value goes).</summary>
    public static bool IsEnvName(string name) => EnvNamePattern().IsMatch(name);

    public static HutchException Invalid(string problem) => new(ErrorCodes.InvalidSecret, $"Invalid secret: {problem}.");

    [GeneratedRegex("^[A-Z_][A-Z0-9_]{0,127}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex EnvNamePattern();
}
