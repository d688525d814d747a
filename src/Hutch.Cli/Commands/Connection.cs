using Hutch.Client;

namespace Hutch.Cli.Commands;

/// <summary>How the commands that need a daemon find it: HUTCH_URL / daemon.json / default, key from HUTCH_API_KEY / api-key.</summary>
internal static class Connection
{
    public static HutchClient Connect() => HutchClient.FromEnvironment();
}
