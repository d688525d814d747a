using System.Text.Json;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Hutch.Protocol.Agent;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Runtime.Durable;

/// <summary>What the records of one durable process say: how it started, how it ended if it has, and how long its log is.</summary>
/// <param name="Damage">Why the exit record could not be read (not a regular file of ours, not JSON), else null.</param>
/// <param name="Terminal">For a process on a pseudo-terminal: its size as last set (the start's until a resize).</param>
public sealed record ProcessSnapshot(ProcessStartRecord Start, ProcessExitRecord? Exit, long LogEnd, string? Damage = null, TerminalRecord? Terminal = null);

/// <summary>
/// The daemon's view of a sandbox's records directory, which the agent writes (layout in
/// <see cref="ProcessRecords"/>). Everything is read from disk, so a daemon that restarts knows every
/// process's output and exit. The agent runs inside the sandbox, so its files are treated as
/// untrusted: opened beneath the directory with no symlink allowed, and size-bounded.
/// </summary>
public sealed class ProcessRecordStore(string directory)
{
    /// <summary>Records are a few hundred bytes; anything larger is not one of ours.</summary>
    private const int MaxRecordBytes = 256 * 1024;

    public string Directory { get; } = directory;

    /// <summary>Ids of every process with records (started or starting), in no order.</summary>
    public List<string> Ids()
    {
        using var root = OpenRoot();
        if (root is null)
        {
            return [];
        }
        using var listing = Beneath.Open(root, "", Beneath.O_RDONLY | Beneath.O_DIRECTORY);
        return [.. At.ReadDirectory(listing).Where(e => e.Kind == EntryKind.Directory && ProcessRecords.IsValidId(e.Name)).Select(e => e.Name)];
    }

    /// <summary>The process's records, or null when it has none (unknown id, or still being created).</summary>
    public ProcessSnapshot? Read(string id)
    {
        if (!ProcessRecords.IsValidId(id))
        {
            return null;
        }
        using var dir = OpenProcess(id);
        if (dir is null)
        {
            return null;
        }
        // The exit record first: it is written after the last byte of log, so the log end read next is final.
        ProcessExitRecord? exit = null;
        string? damage = null;
        try
        {
            exit = ReadJson(dir, ProcessRecords.ExitFile, AgentJsonContext.Default.ProcessExitRecord);
        }
        catch (InvalidDataException e)
        {
            damage = e.Message;
        }
        ProcessStartRecord? start;
        try
        {
            start = ReadJson(dir, ProcessRecords.StartFile, AgentJsonContext.Default.ProcessStartRecord);
        }
        catch (InvalidDataException)
        {
            return null; // not a process we can describe at all
        }
        if (start is null)
        {
            return null;
        }
        long end;
        try
        {
            end = exit?.LogBytes ?? ProcessLogReader.End(dir);
        }
        catch (IOException e)
        {
            (end, damage) = (0, damage ?? e.Message);
        }
        return new ProcessSnapshot(start, exit, end, damage, Terminal(dir, start));
    }

    /// <summary>The terminal's size as last set (terminal.json), else as started; null for a process without one.</summary>
    private static TerminalRecord? Terminal(SafeFileHandle dir, ProcessStartRecord start)
    {
        if (start.Terminal is null)
        {
            return null;
        }
        try
        {
            return ReadJson(dir, ProcessRecords.TerminalFile, AgentJsonContext.Default.TerminalRecord) ?? start.Terminal;
        }
        catch (InvalidDataException)
        {
            return start.Terminal; // only the size is lost: the process is fine
        }
    }

    /// <summary>A reader of the process's log, or null for an unknown id.</summary>
    public ProcessLogReader? OpenLog(string id)
    {
        var dir = ProcessRecords.IsValidId(id) ? OpenProcess(id) : null;
        return dir is null ? null : new ProcessLogReader(dir);
    }

    /// <summary>The host path of a process's records (to watch it for changes).</summary>
    public string PathOf(string id) => Path.Join(Directory, id);

    /// <summary>Removes a process's records; false when there were none.</summary>
    public bool Delete(string id)
    {
        if (!ProcessRecords.IsValidId(id) || !System.IO.Directory.Exists(PathOf(id)))
        {
            return false;
        }
        TreeRemover.Delete(PathOf(id));
        return true;
    }

    private SafeFileHandle? OpenRoot()
    {
        try
        {
            return Beneath.OpenRoot(Directory);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT)
        {
            return null;
        }
    }

    private SafeFileHandle? OpenProcess(string id)
    {
        using var root = OpenRoot();
        if (root is null)
        {
            return null;
        }
        try
        {
            return Beneath.Open(root, id, Beneath.O_RDONLY | Beneath.O_DIRECTORY, noSymlinks: true);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT or Errno.ENOTDIR)
        {
            return null;
        }
    }

    private static T? ReadJson<T>(SafeFileHandle dir, string name, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        SafeFileHandle file;
        try
        {
            file = Beneath.Open(dir, name, Beneath.O_RDONLY | Beneath.O_NONBLOCK, noSymlinks: true);
        }
        catch (LinuxException e) when (e.Errno is Errno.ENOENT)
        {
            return null;
        }
        catch (ContainmentException)
        {
            // Only the agent writes here, and it never makes links: a link is tampering, never followed.
            throw new InvalidDataException($"the process record {name} is a symbolic link, not a record");
        }
        using (file)
        {
            // Sized by the file (records are replaced by rename, never grow in place): a follower reads
            // the records at every wake-up, and 256 KiB buffers there would churn the large-object heap.
            var buffer = new byte[Math.Min(RandomAccess.GetLength(file), MaxRecordBytes)];
            var length = RandomAccess.Read(file, buffer, 0);
            try
            {
                return JsonSerializer.Deserialize(buffer.AsSpan(0, length), type);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"the process record {name} is damaged: {e.Message}", e);
            }
        }
    }
}
