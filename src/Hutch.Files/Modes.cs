using System.Globalization;
using Hutch.Protocol.Api;

namespace Hutch.Files;

/// <summary>Permission bits as the API spells them: octal text like "0644" or "755".</summary>
public static class Modes
{
    public static string Format(int permissions) => "0" + Convert.ToString(permissions & 0xfff, 8).PadLeft(3, '0');

    /// <summary>Parses octal permission bits; null stays null (the caller's default).</summary>
    public static int? Parse(string? mode)
    {
        if (mode is null)
        {
            return null;
        }
        var digits = mode.StartsWith("0o", StringComparison.OrdinalIgnoreCase) ? mode[2..] : mode;
        if (digits.Length is 0 or > 5 || !digits.All(c => c is >= '0' and <= '7'))
        {
            throw new WorkspaceException(ErrorCodes.InvalidMode, $"The mode '{mode}' is not octal permission bits. Write it like \"0644\" or \"0755\".");
        }
        var value = Convert.ToInt32(digits, 8);
        if (value > 0xfff || (value & 0xc00) != 0)
        {
            throw new WorkspaceException(ErrorCodes.InvalidMode,
                $"The mode '{mode}' sets bits Hutch does not write (setuid/setgid); use permission bits like \"0755\".");
        }
        return value;
    }

    internal static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
