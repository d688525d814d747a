using System.CommandLine;
using Hutch.Cli.Engines;

namespace Hutch.Cli.Commands;

/// <summary>`hutch serve`: runs the daemon (HTTP API) in the foreground until Ctrl-C or SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create(IEngineHost engine)
    {
        var url = new Option<string?>("--url") { Description = "Listen address (default http://127.0.0.1:7311, env HUTCH_URL)", HelpName = "URL" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Registry, workspaces and API key (default /var/lib/hutch, env HUTCH_DATA_DIR)", HelpName = "DIR" };
        var runtime = new Option<string?>("--runtime") { Description = "OCI runtime binary: runc (default, env HUTCH_RUNTIME), crun, runsc", HelpName = "BIN" };

        var command = new Command("serve", "Run the Hutch daemon in the foreground") { url, dataDir, runtime };
        command.SetAction((parse, cancellationToken) =>
            engine.ServeAsync(new EngineSettings(parse.GetValue(url), parse.GetValue(dataDir), parse.GetValue(runtime)), cancellationToken));
        return command;
    }
}
