using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Hutch.Daemon.Http;

/// <summary>
/// Says what a .NET type looks like on the wire ("an integer", "an array of strings"), so an error
/// message names the JSON type a caller must send, never a .NET type name.
/// </summary>
internal static class JsonTypeWords
{
    public static string Of(Type type, JsonSerializerOptions? options = null)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type == typeof(string) || type == typeof(char) || type == typeof(Guid))
        {
            return "a string";
        }
        if (type == typeof(bool))
        {
            return "true or false";
        }
        if (type == typeof(int))
        {
            return "an integer from -2147483648 to 2147483647";
        }
        if (type == typeof(long) || type == typeof(short) || type == typeof(byte) || type == typeof(sbyte))
        {
            return "an integer";
        }
        if (type == typeof(uint) || type == typeof(ulong) || type == typeof(ushort))
        {
            return "a non-negative integer";
        }
        if (type == typeof(double) || type == typeof(float) || type == typeof(decimal))
        {
            return "a number";
        }
        if (type == typeof(byte[]))
        {
            return "a base64 string";
        }
        if (type == typeof(DateTime) || type == typeof(DateTimeOffset))
        {
            return "a date-time string (RFC 3339)";
        }
        if (type == typeof(JsonElement) || type == typeof(object))
        {
            return "a JSON value";
        }
        if (options?.TryGetTypeInfo(type, out var info) == true)
        {
            return info.Kind switch
            {
                JsonTypeInfoKind.Enumerable when info.ElementType is { } element => $"an array of {Plural(Of(element, options))}",
                JsonTypeInfoKind.Enumerable => "an array",
                JsonTypeInfoKind.Dictionary when info.ElementType is { } element => $"an object whose values are {Plural(Of(element, options))}",
                _ => "an object",
            };
        }
        return "an object";
    }

    private static readonly string[] Nouns = ["string", "integer", "number", "object", "array", "value"];

    /// <summary>"a string" → "strings", "an integer from …" → "integers from …": for "an array of …".</summary>
    private static string Plural(string word)
    {
        if (word == "true or false")
        {
            return "booleans";
        }
        var words = word.Split(' ');
        var noun = Array.FindIndex(words, w => Nouns.Contains(w));
        if (noun >= 0)
        {
            words[noun] += "s";
        }
        return string.Join(' ', words.Skip(words[0] is "a" or "an" ? 1 : 0));
    }
}
