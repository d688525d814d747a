using Hutch.Cli;

return await HutchCli.RunAsync(args, CliConsole.System).ConfigureAwait(false);
