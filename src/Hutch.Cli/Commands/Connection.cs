using System.CommandLine;
using Hutch.Client;

namespace Hutch.Cli.Commands;

/// <summary>
/// How the commands that need a daemon find it: <c>--url</c>, else HUTCH_URL, else the data dir's
/// daemon.json, else the default; the key from <c>--api-key</c>, else HUTCH_API_KEY, else the data
/// dir's api-key file (so a URL alone reaches a daemon of this host with its own key).
/// </summary>
internal static class Connection
{
    public const string UrlName = "--url", ApiKeyName = "--api-key";

    /// <summary>The commands that run a daemon or only look at the host, not talk to one.</summary>
    private static readonly HashSet<string> NotClients = ["serve", "doctor"];

    /// <summary>
    /// Gives every client command its own <c>--url</c> and <c>--api-key</c> (an option belongs to one
    /// command, and `serve` has a <c>--url</c> of its own: where to listen).
    /// </summary>
    public static void AddOptionsTo(Command root)
    {
        foreach (var command in root.Subcommands)
        {
            if (NotClients.Contains(command.Name))
            {
                continue;
            }
            if (command.Action is not null)
            {
                command.Add(new Option<string?>(UrlName)
                {
                    Description = "The daemon's URL (default: HUTCH_URL, else the running daemon's, else http://127.0.0.1:7311)",
                    HelpName = "URL",
                });
                command.Add(new Option<string?>(ApiKeyName)
                {
                    Description = "The daemon's API key (default: HUTCH_API_KEY, else the data dir's api-key file)",
                    HelpName = "KEY",
                });
            }
            AddOptionsTo(command);
        }
    }

    /// <summary>--url and --api-key as the command line gave them (null: not given).</summary>
    internal readonly record struct Given(string? Url, string? ApiKey);

    /// <summary>Where the daemon is for this command line.</summary>
    public static HutchEndpoint Endpoint(ParseResult parse) => Endpoint(GivenIn(parse));

    /// <inheritdoc cref="Endpoint(ParseResult)"/>
    public static HutchEndpoint Endpoint(Given given) => HutchEndpoint.Discover(given.Url, given.ApiKey, dataDir: null);

    public static Given GivenIn(ParseResult parse) => new(Value(parse, UrlName), Value(parse, ApiKeyName));

    public static HutchClient Connect(ParseResult parse) => HutchClient.FromEndpoint(Endpoint(parse));

    private static string? Value(ParseResult parse, string name) =>
        parse.CommandResult.Command.Options.Any(o => o.Name == name) ? parse.GetValue<string?>(name) : null;
}
