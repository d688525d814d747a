using System.Diagnostics;
using Hutch.Cli.Doctor;
using Hutch.Linux;
using Hutch.Linux.Interop;

namespace Hutch.Cli.Engines;

/// <summary>
/// The NativeAOT `hutch`'s engine: it has none, so a command that needs one (serve, doctor, run with
/// no daemon) replaces this process with hutch-engine and the same arguments (execv: same pid, same
/// streams, so a harness waiting on `hutch` sees no difference). Called before anything is read
/// from stdin or written to stdout, so the engine starts from an untouched invocation.
/// </summary>
internal sealed class EngineHandoff(IReadOnlyList<string> args) : IEngineHost
{
    /// <summary>Where hutch-engine is looked for: HUTCH_ENGINE, else engine/hutch-engine beside this program.</summary>
    public static string EnginePath =>
        Environment.GetEnvironmentVariable("HUTCH_ENGINE") is { Length: > 0 } path
            ? path
            : Path.Join(Path.GetDirectoryName(Environment.ProcessPath) ?? AppContext.BaseDirectory, "engine", "hutch-engine");

    public Task<int> ServeAsync(EngineSettings settings, CancellationToken cancellationToken) => throw Handoff();

    public Task<IReadOnlyList<DoctorCheck>> CheckHostAsync(EngineSettings settings, CancellationToken cancellationToken) => throw Handoff();

    public Task<IRunEngine> OpenInProcessAsync(CancellationToken cancellationToken) => throw Handoff();

    public Task<int> ServeMcpAsync(McpStart start, CancellationToken cancellationToken) => throw Handoff();

    private CliException Handoff()
    {
        var engine = EnginePath;
        if (!File.Exists(engine))
        {
            return new CliException("engine_missing",
                $"this command needs hutch-engine, which is not at {engine}: reinstall Hutch (both programs are published together), or set HUTCH_ENGINE to its path");
        }
        try
        {
            Processes.ReplaceWith(engine, [engine, .. args]);
            throw new UnreachableException();
        }
        catch (LinuxException e)
        {
            return new CliException("engine_start_failed", $"could not start {engine}: {e.Message}");
        }
    }
}
