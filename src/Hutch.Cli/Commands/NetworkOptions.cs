using System.CommandLine;
using Hutch.Protocol.Api;

namespace Hutch.Cli.Commands;

/// <summary>The network policy options of `hutch create`, `hutch run` and `hutch net set`.</summary>
internal sealed class NetworkOptions
{
    public Option<string?> Mode { get; } = new("--network")
    {
        Description = "What the sandbox may reach: none (the default: nothing), allowlist (only --allow) or public (any public name and address)",
        HelpName = "MODE",
    };

    public Option<string[]> Allow { get; } = new("--allow")
    {
        Description = "Let the sandbox reach a host name, a glob (*.example.org), an address, a CIDR or net:NAME, optionally :PORT or :LOW-HIGH, e.g. pypi.org:443 (repeatable; implies --network allowlist)",
        HelpName = "ENTRY",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string[]> Deny { get; } = new("--deny")
    {
        Description = "Never let it reach this name, glob, address or CIDR, optionally :PORT; wins over --allow and public (repeatable)",
        HelpName = "ENTRY",
        AllowMultipleArgumentsPerToken = false,
    };

    public Option<string?> Preset { get; } = new("--preset")
    {
        Description = "Also allow a named list of hosts: package-registries (the apt, pip and npm indexes the daemon's host is configured with; `hutch net presets` shows them). Implies --network allowlist",
        HelpName = "NAME",
    };

    public NetworkOptions()
    {
        Mode.AcceptOnlyFromAmong(NetworkModes.None, NetworkModes.Allowlist, NetworkModes.Public);
    }

    public void AddTo(Command command)
    {
        command.Add(Mode);
        command.Add(Allow);
        command.Add(Deny);
        command.Add(Preset);
    }

    /// <summary>The policy the options give, or null when none was given (the daemon's default, none).</summary>
    public NetworkPolicy? ToPolicy(ParseResult parse)
    {
        var mode = parse.GetValue(Mode);
        var allow = parse.GetValue(Allow) is { Length: > 0 } a ? a : null;
        var deny = parse.GetValue(Deny) is { Length: > 0 } d ? d : null;
        var preset = parse.GetValue(Preset);
        if (mode is null && allow is null && deny is null && preset is null)
        {
            return null;
        }
        return new NetworkPolicy(mode ?? (allow is not null || preset is not null ? NetworkModes.Allowlist : null), allow, deny, preset);
    }
}
