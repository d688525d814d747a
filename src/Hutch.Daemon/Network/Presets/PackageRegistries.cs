using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Hutch.Daemon.Network.Presets;

/// <summary>What a preset stands for on this host: the allow entries, where each came from, and what could not be read.</summary>
public sealed record PresetExpansion(string Name, IReadOnlyList<PolicyEntry> Entries, IReadOnlyList<RegistrySource> Sources, IReadOnlyList<string> Notes);

/// <summary>
/// The <c>package-registries</c> preset: the hosts (and ports) of the package indexes this host's
/// apt, pip and npm are configured with (<see cref="RegistryConfig"/>), so a sandbox with the preset
/// can <c>apt-get</c>, <c>pip install</c> and <c>npm install</c> from them and reach nothing else.
/// Where pip or npm has no index configured, the tool itself is asked for its built-in default (pip
/// also names its separate file host): no registry name is written in Hutch. Read once, on first
/// use, when the daemon has started; a daemon restart reads it again.
/// </summary>
public sealed class PackageRegistries(string root, ILogger log)
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(10);
    private readonly Lazy<Task<PresetExpansion>> _expansion = new(() => Task.Run(() => Expand(root, log)));

    public Task<PresetExpansion> ExpandAsync() => _expansion.Value;

    private static PresetExpansion Expand(string root, ILogger log)
    {
        var home = (Environment.GetEnvironmentVariable("HOME") ?? "/root").TrimStart('/');
        var notes = new List<string>();
        // The host's own environment only when reading the host's own files.
        Func<string, string?> env = root == "/" ? Environment.GetEnvironmentVariable : _ => null;
        var sources = RegistryConfig.Apt(root).ToList();
        var pip = RegistryConfig.Pip(root, home, env).ToList();
        var npm = RegistryConfig.Npm(root, home, env).ToList();
        if (pip.Count == 0 && root == "/")
        {
            pip.AddRange(Ask("pip", "python3", ["-c", "from pip._internal.models.index import PyPI; print(PyPI.simple_url); print('https://' + PyPI.file_storage_domain + '/')"], notes));
        }
        if (npm.Count == 0 && root == "/")
        {
            npm.AddRange(Ask("npm", "npm", ["config", "get", "registry"], notes));
        }
        sources.AddRange(pip);
        sources.AddRange(npm);
        foreach (var tool in new[] { "apt", "pip", "npm" }.Where(t => !sources.Any(s => s.Tool == t)))
        {
            notes.Add($"{tool}: no index configured on this host");
        }
        var entries = new List<PolicyEntry>();
        foreach (var text in sources.Select(s => $"{s.Url.IdnHost}:{s.Url.Port}").Distinct())
        {
            if (PolicyEntryParser.Parse(text, allowOpenNetworks: false, out var error) is { } entry)
            {
                entries.Add(entry with { Text = $"{NetworkPresets.PackageRegistries} ({entry.Text})" });
            }
            else
            {
                notes.Add($"'{text}' is not a host this preset can allow: {error}");
            }
        }
        Log.EgressPresetExpanded(log, NetworkPresets.PackageRegistries, string.Join(", ", entries.Select(e => e.Text)), string.Join("; ", notes));
        return new PresetExpansion(NetworkPresets.PackageRegistries, entries, sources, notes);
    }

    /// <summary>A tool's own default index (its built-in configuration), or a note saying why there is none.</summary>
    private static IEnumerable<RegistrySource> Ask(string tool, string program, string[] args, List<string> notes)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var output = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(AskTimeout) || process.ExitCode != 0)
            {
                process.Kill(entireProcessTree: true);
                notes.Add($"{tool}: `{program} {string.Join(' ', args)}` did not give its default index");
                return [];
            }
            return [.. output.Result.Split('\n').Select(RegistryConfig.Parse).OfType<Uri>()
                .Select(url => new RegistrySource(tool, url, $"{tool}'s built-in default"))];
        }
        catch (System.ComponentModel.Win32Exception)
        {
            notes.Add($"{tool}: {program} is not installed on this host");
            return [];
        }
    }
}
