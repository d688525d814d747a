using System.Text.Json;

namespace Hutch.Client;

/// <summary>Where a Hutch daemon is expected and the key to use with it, as found by <see cref="HutchEndpoint.Discover(string?)"/>.</summary>
/// <param name="BaseAddress">The daemon's base URL, e.g. <c>http://127.0.0.1:7311/</c>.</param>
/// <param name="ApiKey">The bearer key, or null when none was found.</param>
/// <param name="DataDir">The data directory the key file and daemon.json were looked up in.</param>
/// <param name="Advertised">
/// True when something says a daemon should be there: HUTCH_URL is set, or daemon.json names a process
/// that is alive. False when <see cref="BaseAddress"/> is only the default guess.
/// </param>
public sealed record HutchEndpoint(Uri BaseAddress, string? ApiKey, string DataDir, bool Advertised)
{
    /// <summary>The address a daemon listens on when nothing else is configured.</summary>
    public const string DefaultUrl = "http://127.0.0.1:7311";

    /// <summary>The data directory when HUTCH_DATA_DIR is not set.</summary>
    public const string DefaultDataDir = "/var/lib/hutch";

    /// <summary>
    /// Where <see cref="BaseAddress"/> came from: "--url" (given by the caller), "HUTCH_URL",
    /// "daemon.json" or "default" (a guess). A URL the caller gave (the first two) that does not
    /// answer is an error naming it, never a reason to try somewhere else.
    /// </summary>
    public string Source { get; init; } = "default";

    /// <summary>Whether the caller named this URL (an argument or HUTCH_URL) rather than Hutch finding it.</summary>
    public bool IsExplicit => Source is "--url" or "HUTCH_URL";

    /// <summary>
    /// Finds the daemon the way the <c>hutch</c> CLI does. URL: env HUTCH_URL, else the <c>url</c> of
    /// <c>daemon.json</c> in the data directory (written by a running daemon), else <see cref="DefaultUrl"/>.
    /// Key: env HUTCH_API_KEY, else the first line of the data directory's <c>api-key</c> file.
    /// Data directory: <paramref name="dataDir"/>, else env HUTCH_DATA_DIR, else <see cref="DefaultDataDir"/>.
    /// </summary>
    /// <param name="dataDir">The data directory to look in; null for the environment's.</param>
    public static HutchEndpoint Discover(string? dataDir = null) => Discover(dataDir, null, null, Environment.GetEnvironmentVariable, PidIsAlive);

    /// <summary>
    /// As <see cref="Discover(string?)"/>, with what the caller gave first: <paramref name="url"/>
    /// before HUTCH_URL and daemon.json, <paramref name="apiKey"/> before HUTCH_API_KEY and the key file.
    /// A URL given without a key (here or in HUTCH_URL) takes the data directory's key file, so a
    /// daemon on this host is reached with its own key.
    /// </summary>
    /// <param name="url">The daemon's URL, or null to find it.</param>
    /// <param name="apiKey">The bearer key, or null to find it.</param>
    /// <param name="dataDir">The data directory to look in; null for the environment's.</param>
    public static HutchEndpoint Discover(string? url, string? apiKey, string? dataDir) =>
        Discover(dataDir, url, apiKey, Environment.GetEnvironmentVariable, PidIsAlive);

    // Kept in step with Hutch.Daemon's HutchOptions (DataDir, Url, ApiKeyFile, DaemonInfoFile) by hand: the SDK must not depend on the daemon.
    internal static HutchEndpoint Discover(string? dataDir, string? url, string? apiKey, Func<string, string?> getEnv, Func<int, bool> pidIsAlive)
    {
        dataDir ??= NonEmpty(getEnv("HUTCH_DATA_DIR")) ?? DefaultDataDir;
        var key = NonEmpty(apiKey) ?? NonEmpty(getEnv("HUTCH_API_KEY")) ?? ReadKeyFile(Path.Join(dataDir, "api-key"));

        if (NonEmpty(url) is { } given)
        {
            return new HutchEndpoint(ParseUrl(given, "--url"), key, dataDir, Advertised: true) { Source = "--url" };
        }
        if (NonEmpty(getEnv("HUTCH_URL")) is { } envUrl)
        {
            return new HutchEndpoint(ParseUrl(envUrl, "HUTCH_URL"), key, dataDir, Advertised: true) { Source = "HUTCH_URL" };
        }
        if (ReadDaemonInfo(Path.Join(dataDir, "daemon.json")) is { } info && (info.Pid is not { } pid || pidIsAlive(pid)))
        {
            return new HutchEndpoint(ParseUrl(info.Url, "daemon.json"), key, dataDir, Advertised: true) { Source = "daemon.json" };
        }
        return new HutchEndpoint(ParseUrl(DefaultUrl, "default"), key, dataDir, Advertised: false);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static Uri ParseUrl(string url, string source)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new HutchApiException(Hutch.Protocol.Api.ErrorCodes.InvalidRequest, 0,
                $"The daemon URL '{url}' (from {source}) is not an absolute http:// or https:// URL; give one such as {DefaultUrl}.");
        }
        return uri;
    }

    private static string? ReadKeyFile(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            return NonEmpty(reader.ReadLine());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // Missing or unreadable (not root): the caller says what to do.
        }
    }

    private static (string Url, int? Pid)? ReadDaemonInfo(string path)
    {
        try
        {
            // JsonDocument rather than a serializer context: two fields, and no reflection either way.
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
            {
                return null;
            }
            int? pid = root.TryGetProperty("pid", out var p) && p.TryGetInt32(out var value) ? value : null;
            return (url.GetString()!, pid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            return null; // No daemon has run, or the file is half written: fall back to the default.
        }
    }

    // A daemon that died without cleaning up leaves daemon.json behind: its pid no longer exists.
    private static bool PidIsAlive(int pid) => pid > 0 && Directory.Exists($"/proc/{pid}");
}
