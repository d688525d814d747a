using System.CommandLine;
using Hutch.Daemon;

namespace Hutch.Cli.Commands;

/// <summary>`hutch serve`: runs the daemon (HTTP API) in the foreground until Ctrl-C or SIGTERM.</summary>
internal static class ServeCommand
{
    public static Command Create(CliConsole console)
    {
        var url = new Option<string?>("--url") { Description = "Listen address (default http://127.0.0.1:7311, env HUTCH_URL)", HelpName = "URL" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Registry, workspaces and API key (default /var/lib/hutch, env HUTCH_DATA_DIR)", HelpName = "DIR" };
        var runtime = new Option<string?>("--runtime") { Description = "OCI runtime binary: runc (default, env HUTCH_RUNTIME), crun, runsc", HelpName = "BIN" };

        var command = new Command("serve", "Run the Hutch daemon in the foreground") { url, dataDir, runtime };
        command.SetAction((parse, cancellationToken) =>
        {
            var options = ToOptions(parse.GetValue(url), parse.GetValue(dataDir), parse.GetValue(runtime));
            return DaemonWiring.RunDaemonAsync(options, cancellationToken);
        });
        return command;
    }

    /// <summary>Flags over the environment's defaults (HutchOptions reads HUTCH_* itself).</summary>
    public static HutchOptions ToOptions(string? url, string? dataDir, string? runtime)
    {
        var options = new HutchOptions();
        return options with
        {
            Url = url ?? options.Url,
            DataDir = dataDir is null ? options.DataDir : Path.GetFullPath(dataDir),
            Runtime = runtime ?? options.Runtime,
        };
    }
}
