namespace Hutch.Daemon;

/// <summary>
/// Files the daemon writes for itself are root's alone (0600), whatever the process umask and
/// whatever mode an older daemon gave them: the data dir must stay traversable for sandboxes (their
/// root, workspace and agent are reached through it), so a file's own mode is what keeps others out.
/// </summary>
public static class PrivateFiles
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>0711: a directory of root's that sandboxes (as their mapped uids) pass through but cannot list.</summary>
    public const UnixFileMode TraverseOnlyMode = DirectoryMode | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>Opens the file for writing, created 0600 or truncated and set to 0600 (or appended to, with <paramref name="append"/>).</summary>
    public static FileStream OpenWrite(string path, bool append = false)
    {
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = append ? System.IO.FileMode.Append : System.IO.FileMode.Create,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite,
            UnixCreateMode = FileMode,
        });
        File.SetUnixFileMode(stream.SafeFileHandle, FileMode);
        return stream;
    }

    public static async Task WriteAllTextAsync(string path, string text, CancellationToken cancellationToken = default)
    {
        await using var stream = OpenWrite(path);
        await using var writer = new StreamWriter(stream);
        await writer.WriteAsync(text.AsMemory(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Creates <paramref name="path"/> (0600) holding <paramref name="content"/>, unless it exists: written
    /// whole and flushed beside it, then moved in without replacing, so a reader never sees a partial
    /// file and two processes creating it at once agree on one. False when another process won.
    /// </summary>
    public static bool CreateOnce(string path, ReadOnlySpan<byte> content)
    {
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        using (var stream = OpenWrite(temporary))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        try
        {
            File.Move(temporary, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
            return false;
        }
    }

    /// <summary>Sets an existing file to 0600 (a file an older daemon left readable); a missing one is fine.</summary>
    public static void Restrict(string path)
    {
        if (File.Exists(path))
        {
            File.SetUnixFileMode(path, FileMode);
        }
    }
}
