namespace Hutch.Files.Checkpoints;

/// <summary>Reads /proc/self/mountinfo (proc(5)): is a directory a mount point, and of what.</summary>
internal static class MountTable
{
    /// <summary>The mount at exactly <paramref name="directory"/> (the last one, as it hides earlier ones); null when it is none.</summary>
    public static (string FileSystem, string Source)? At(string directory)
    {
        var wanted = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory));
        (string, string)? found = null;
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-", Math.Min(6, fields.Length));
            if (fields.Length < 5 || separator < 0 || separator + 2 >= fields.Length)
            {
                continue;
            }
            if (Unescape(fields[4]) == wanted)
            {
                found = (fields[separator + 1], Unescape(fields[separator + 2]));
            }
        }
        return found;
    }

    /// <summary>mountinfo writes space, tab, newline and backslash as octal escapes (\040).</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\'))
        {
            return field;
        }
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && field.AsSpan(i + 1, 3).ToArray().All(c => c is >= '0' and <= '7'))
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }
        return text.ToString();
    }
}
