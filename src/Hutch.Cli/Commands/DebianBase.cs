using System.Diagnostics;

namespace Hutch.Cli.Commands;

/// <summary>
/// A Debian root made on this host with mmdebstrap, from the package mirror this host's apt is
/// configured for (never a registry named here): the base a template can start from with no image
/// registry (docs/templates.md).
/// </summary>
internal static class DebianBase
{
    private const string SourcesList = "/etc/apt/sources.list";
    private const string SourcesDir = "/etc/apt/sources.list.d";

    /// <summary>This host's Debian codename (VERSION_CODENAME in /etc/os-release), or null.</summary>
    public static string? HostSuite() =>
        File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").Select(line => line.Split('=', 2)).Where(kv => kv.Length == 2 && kv[0] == "VERSION_CODENAME")
                .Select(kv => kv[1].Trim('"')).FirstOrDefault(value => value.Length > 0)
            : null;

    /// <summary>The first `deb` source of this host's apt configuration that serves <paramref name="suite"/>, or null.</summary>
    public static string? HostMirror(string suite, string etcApt = "/etc/apt")
    {
        var files = new List<string>();
        var list = Path.Join(etcApt, Path.GetFileName(SourcesList));
        if (File.Exists(list))
        {
            files.Add(list);
        }
        var dir = Path.Join(etcApt, Path.GetFileName(SourcesDir));
        if (Directory.Exists(dir))
        {
            files.AddRange(Directory.EnumerateFiles(dir).Where(f => f.EndsWith(".list", StringComparison.Ordinal) || f.EndsWith(".sources", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        }
        foreach (var file in files)
        {
            var sources = file.EndsWith(".sources", StringComparison.Ordinal) ? Deb822(File.ReadAllText(file)) : OneLine(File.ReadLines(file));
            if (sources.FirstOrDefault(s => s.Suites.Contains(suite, StringComparer.Ordinal)) is { } found)
            {
                return found.Uri;
            }
        }
        return null;
    }

    private sealed record Source(string Uri, string[] Suites);

    /// <summary>`deb [options] URI SUITE COMPONENT…` lines.</summary>
    private static IEnumerable<Source> OneLine(IEnumerable<string> lines)
    {
        foreach (var raw in lines)
        {
            var line = raw.Split('#')[0].Trim();
            if (!line.StartsWith("deb ", StringComparison.Ordinal))
            {
                continue;
            }
            var rest = line[4..].Trim();
            if (rest.StartsWith('['))
            {
                var close = rest.IndexOf(']', StringComparison.Ordinal);
                rest = close < 0 ? "" : rest[(close + 1)..].Trim();
            }
            var words = rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= 2)
            {
                yield return new Source(words[0], [words[1]]);
            }
        }
    }

    /// <summary>deb822 stanzas (sources.list(5)): Types, URIs, Suites; Enabled: no skips one.</summary>
    private static IEnumerable<Source> Deb822(string text)
    {
        foreach (var stanza in text.Replace("\r", "", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in stanza.Split('\n'))
            {
                if (line.StartsWith('#') || line.StartsWith(' ') || line.IndexOf(':', StringComparison.Ordinal) is not (> 0 and var colon))
                {
                    continue;
                }
                fields[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
            string[] Words(string key) => fields.TryGetValue(key, out var value) ? value.Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
            if (!Words("Types").Contains("deb") || fields.TryGetValue("Enabled", out var enabled) && enabled.Equals("no", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            foreach (var uri in Words("URIs"))
            {
                yield return new Source(uri, Words("Suites"));
            }
        }
    }

    /// <summary>
    /// The package names of every --include (each a name or a comma-separated list), in order, once
    /// each. A name is what Debian Policy 5.6.1 allows (lower case letters, digits, '+', '-', '.';
    /// two characters or more, starting with a letter or digit), so none can pass for an mmdebstrap option.
    /// </summary>
    /// <exception cref="CliException">A name Debian does not allow.</exception>
    public static IReadOnlyList<string> Packages(IEnumerable<string> includes)
    {
        var packages = new List<string>();
        foreach (var name in includes.SelectMany(i => i.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
        {
            if (name.Length < 2 || !char.IsAsciiLetterLower(name[0]) && !char.IsAsciiDigit(name[0])
                || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '+' or '-' or '.'))
            {
                throw new CliException(Hutch.Protocol.Api.ErrorCodes.InvalidRequest,
                    $"--include '{name}' is not a Debian package name (lower case letters, digits, '+', '-' and '.'): give names such as python3-pip,git", ExitCodes.Usage);
            }
            if (!packages.Contains(name))
            {
                packages.Add(name);
            }
        }
        return packages;
    }

    /// <summary>
    /// Runs mmdebstrap (minbase: Essential, apt and their needs, plus <paramref name="packages"/> and
    /// what they depend on) into a root file system tar; its output goes to <paramref name="log"/>.
    /// </summary>
    /// <exception cref="CliException">mmdebstrap is missing or failed.</exception>
    public static async Task MakeAsync(string suite, string mirror, IReadOnlyList<string> packages, string outputTar, TextWriter log, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("mmdebstrap") { RedirectStandardOutput = true, RedirectStandardError = true };
        string[] include = packages.Count == 0 ? [] : ["--include=" + string.Join(',', packages)];
        string[] args = ["--variant=minbase", "--mode=root", "--format=tar", .. include, suite, outputTar, mirror];
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new CliException(Hutch.Protocol.Api.ErrorCodes.InvalidRequest, "mmdebstrap is not installed: apt-get install mmdebstrap", ExitCodes.Failure);
        }
        using (process)
        {
            var output = Task.WhenAll(CopyAsync(process.StandardOutput, log), CopyAsync(process.StandardError, log));
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            await output.ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                throw new CliException(Hutch.Protocol.Api.ErrorCodes.InvalidRequest, $"mmdebstrap failed (exit {process.ExitCode}); its output is above", ExitCodes.Failure);
            }
        }
    }

    private static async Task CopyAsync(StreamReader from, TextWriter to)
    {
        while (await from.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            to.WriteLine(line);
        }
    }
}
