using Hutch.Cli;
using Hutch.Cli.Engine;

// The same `hutch` command tree, with the engine in this process rather than a handoff to it.
return await HutchCli.RunAsync(args, CliConsole.System, new InProcessEngineHost()).ConfigureAwait(false);
