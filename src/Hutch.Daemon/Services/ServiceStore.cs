using System.Text.Json;
using Hutch.Protocol.Agent;

namespace Hutch.Daemon.Services;

/// <summary>A sandbox's service records: one JSON file per service, replaced atomically (write, fsync, rename).</summary>
internal sealed class ServiceStore(string directory)
{
    public ServiceRecord? Read(string name)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(PathOf(name)), ServiceJsonContext.Default.ServiceRecord);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public List<ServiceRecord> List()
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }
        return [.. Directory.EnumerateFiles(directory, "*.json")
            .Select(f => Path.GetFileNameWithoutExtension(f))
            .Where(ProcessRecords.IsValidId)
            .Select(Read)
            .OfType<ServiceRecord>()
            .OrderBy(r => r.Spec.Name, StringComparer.Ordinal)];
    }

    public void Write(ServiceRecord record)
    {
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temporary = PathOf(record.Spec.Name) + ".tmp";
        using (var file = PrivateFiles.OpenWrite(temporary))
        {
            JsonSerializer.Serialize(file, record, ServiceJsonContext.Default.ServiceRecord);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, PathOf(record.Spec.Name), overwrite: true);
    }

    public void Delete(string name) => File.Delete(PathOf(name));

    private string PathOf(string name) => Path.Join(directory, name + ".json");
}
