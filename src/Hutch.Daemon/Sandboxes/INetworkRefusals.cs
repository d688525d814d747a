namespace Hutch.Daemon.Sandboxes;

/// <summary>
/// What a sandbox's network refused while a command ran, so an exec result can say
/// "github.com:443 refused: not in allowlist" next to the program's own error. Exec/ asks at the
/// start and the end of each command, Builds/ at the end of a build step; Network/ answers from the
/// sandbox's event log; neither knows the other.
/// </summary>
public interface INetworkRefusals
{
    /// <summary>The most refusals one command's result lists (the sandbox's network events have all of them).</summary>
    const int MaxListed = 20;

    /// <summary>Where the sandbox's network record stands now.</summary>
    long Mark(string sandboxId);

    /// <summary>The refused and failed connections and lookups recorded since <paramref name="mark"/> (the first <paramref name="max"/>), or null for none.</summary>
    IReadOnlyList<NetworkEvent>? Since(string sandboxId, long mark, int max);

    /// <summary>
    /// Every event (allowed ones too) recorded since <paramref name="mark"/>, once the connections
    /// open now have ended (an allowed connection is recorded when it closes), waiting at most
    /// <paramref name="settle"/> for them; empty for a sandbox whose network let nothing out.
    /// </summary>
    Task<IReadOnlyList<NetworkEvent>> SettledSinceAsync(string sandboxId, long mark, TimeSpan settle, CancellationToken cancellationToken);
}
