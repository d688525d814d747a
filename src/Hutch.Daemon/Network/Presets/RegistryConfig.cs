namespace Hutch.Daemon.Network.Presets;

/// <summary>One registry URL the host is configured with, and where that was read.</summary>
public sealed record RegistrySource(string Tool, Uri Url, string From);

/// <summary>
/// Reads the package indexes this host's apt, pip and npm are configured with, as files under a
/// root (the host's <c>/</c>, or a directory standing for it), never their credentials: only the
/// URL keys are read (<c>registry</c>, <c>index-url</c>, <c>URIs</c>), so an <c>_authToken</c> line
/// or a URL's user information never leaves this class (the latter is cut from the URL).
/// </summary>
public static class RegistryConfig
{
    /// <summary>apt: <c>sources.list</c> and <c>sources.list.d</c>'s <c>*.list</c> (one-line) and <c>*.sources</c> (deb822) files; other suffixes are ignored, as apt ignores them.</summary>
    public static IEnumerable<RegistrySource> Apt(string root)
    {
        var files = new List<string> { Path.Join(root, "etc/apt/sources.list") };
        var parts = Path.Join(root, "etc/apt/sources.list.d");
        if (Directory.Exists(parts))
        {
            files.AddRange(Directory.GetFiles(parts).Where(f => f.EndsWith(".list", StringComparison.Ordinal) || f.EndsWith(".sources", StringComparison.Ordinal)).Order());
        }
        foreach (var file in files.Where(File.Exists))
        {
            var lines = File.ReadAllLines(file);
            var urls = file.EndsWith(".sources", StringComparison.Ordinal) ? Deb822Uris(lines) : OneLineUris(lines);
            foreach (var url in urls)
            {
                if (Parse(url) is { } uri)
                {
                    yield return new RegistrySource("apt", uri, file);
                }
            }
        }
    }

    /// <summary>pip: PIP_INDEX_URL / PIP_EXTRA_INDEX_URL, then <c>index-url</c> and <c>extra-index-url</c> in its configuration files.</summary>
    public static IEnumerable<RegistrySource> Pip(string root, string home, Func<string, string?> env)
    {
        foreach (var variable in new[] { "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL" })
        {
            foreach (var url in (env(variable) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (Parse(url) is { } uri)
                {
                    yield return new RegistrySource("pip", uri, variable);
                }
            }
        }
        foreach (var file in new[] { "etc/pip.conf", "etc/xdg/pip/pip.conf", $"{home}/.config/pip/pip.conf", $"{home}/.pip/pip.conf" }.Select(f => Path.Join(root, f)).Where(File.Exists))
        {
            foreach (var url in IniValues(File.ReadAllLines(file), "index-url", "extra-index-url"))
            {
                if (Parse(url) is { } uri)
                {
                    yield return new RegistrySource("pip", uri, file);
                }
            }
        }
    }

    /// <summary>npm: npm_config_registry, then <c>registry</c> and <c>@scope:registry</c> in the global and user npmrc files.</summary>
    public static IEnumerable<RegistrySource> Npm(string root, string home, Func<string, string?> env)
    {
        foreach (var variable in new[] { "npm_config_registry", "NPM_CONFIG_REGISTRY" })
        {
            if (Parse(env(variable)) is { } uri)
            {
                yield return new RegistrySource("npm", uri, variable);
            }
        }
        foreach (var file in new[] { "usr/etc/npmrc", "usr/local/etc/npmrc", "etc/npmrc", $"{home}/.npmrc" }.Select(f => Path.Join(root, f)).Where(File.Exists))
        {
            foreach (var line in File.ReadAllLines(file))
            {
                var eq = line.IndexOf('=');
                var key = eq < 0 ? "" : line[..eq].Trim();
                if ((key == "registry" || (key.StartsWith('@') && key.EndsWith(":registry", StringComparison.Ordinal))) && Parse(line[(eq + 1)..].Trim()) is { } uri)
                {
                    yield return new RegistrySource("npm", uri, file);
                }
            }
        }
    }

    /// <summary>An http(s) URL without its user information; null for anything else (a path, a file: URL, garbage).</summary>
    public static Uri? Parse(string? text)
    {
        if (!Uri.TryCreate(text?.Trim().Trim('"', '\''), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
        {
            return null;
        }
        return new UriBuilder(uri) { UserName = "", Password = "" }.Uri;
    }

    /// <summary><c>deb [options] URI suite components</c> lines (and deb-src); comments and options skipped.</summary>
    private static IEnumerable<string> OneLineUris(string[] lines)
    {
        foreach (var raw in lines)
        {
            var line = raw.Split('#')[0].Trim();
            if (!line.StartsWith("deb", StringComparison.Ordinal))
            {
                continue;
            }
            var rest = line[(line.IndexOf(' ') + 1)..].TrimStart();
            if (rest.StartsWith('['))
            {
                rest = rest[(rest.IndexOf(']') + 1)..].TrimStart();
            }
            yield return rest.Split(' ', 2)[0];
        }
    }

    /// <summary>deb822 stanzas: every URIs: field of a stanza that is not <c>Enabled: no</c>.</summary>
    private static IEnumerable<string> Deb822Uris(string[] lines)
    {
        var uris = new List<string>();
        var enabled = true;
        foreach (var raw in lines.Append(""))
        {
            var line = raw.TrimEnd();
            if (line.Trim().Length == 0)
            {
                foreach (var uri in enabled ? uris : [])
                {
                    yield return uri;
                }
                (uris, enabled) = ([], true);
                continue;
            }
            if (line.StartsWith('#'))
            {
                continue;
            }
            var colon = line.IndexOf(':');
            var field = colon < 0 ? "" : line[..colon].Trim();
            if (field.Equals("URIs", StringComparison.OrdinalIgnoreCase))
            {
                uris.AddRange(line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
            else if (field.Equals("Enabled", StringComparison.OrdinalIgnoreCase))
            {
                enabled = !line[(colon + 1)..].Trim().Equals("no", StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    /// <summary>The values of <paramref name="keys"/> in any section of an INI file, continuation lines included (pip lists several URLs that way).</summary>
    private static IEnumerable<string> IniValues(string[] lines, params string[] keys)
    {
        var inKey = false;
        foreach (var raw in lines)
        {
            if (raw.TrimStart().StartsWith('#') || raw.TrimStart().StartsWith(';'))
            {
                continue;
            }
            if (inKey && raw.Length > 0 && char.IsWhiteSpace(raw[0]))
            {
                foreach (var value in raw.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    yield return value;
                }
                continue;
            }
            var eq = raw.IndexOfAny(['=', ':']);
            inKey = eq > 0 && keys.Contains(raw[..eq].Trim().ToLowerInvariant());
            if (inKey)
            {
                foreach (var value in raw[(eq + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    yield return value;
                }
            }
        }
    }
}
