using Hutch.Protocol.Api;

namespace Hutch.Cli.Exec;

/// <summary>The output cap a command ran with, and whether a cut output is an error for hutch's exit status.</summary>
/// <param name="MaxOutputBytes">--max-output, or null for the daemon's default.</param>
/// <param name="AllowTruncation">--allow-truncation: exit with the command's status even when output was cut.</param>
internal sealed record OutputCap(long? MaxOutputBytes, bool AllowTruncation)
{
    /// <summary>The API's default for <see cref="ExecRequest.MaxOutputBytes"/>.</summary>
    public const long DefaultBytes = 16L << 20;

    /// <summary>The API's most for <see cref="ExecRequest.MaxOutputBytes"/>.</summary>
    public const long MostBytes = 1L << 30;

    public static OutputCap Default { get; } = new(null, false);
}

/// <summary>
/// How a finished command becomes hutch's exit status and its notes on stderr, the same for `exec`
/// and `run`, streamed or <c>--json</c>: the command's status the shell way (<see cref="ExitCodes.For(int?, string?, bool)"/>),
/// except that cut output is <see cref="ExitCodes.OutputTruncated"/> unless allowed, so a harness that
/// looks only at the status cannot take a partial output for the whole of it.
/// </summary>
internal sealed record ExecEnd(int? ExitCode, string? Signal, bool TimedOut, bool OomKilled, bool Truncated, long? DurationMs, ExecKilled? Killed = null,
    ExecFullOutput? FullOutput = null, IReadOnlyList<NetworkEvent>? NetworkRefusals = null, IReadOnlyList<ArtifactInfo>? Artifacts = null)
{
    /// <summary>How many kept files the note names one by one; the rest are counted.</summary>
    private const int ArtifactsNamed = 5;

    public static ExecEnd Of(ExecExitEvent exit) =>
        new(exit.ExitCode, exit.Signal, exit.TimedOut, exit.OomKilled, exit.Truncated, exit.DurationMs, exit.Killed, exit.FullOutput, exit.NetworkRefusals, exit.Artifacts);

    public static ExecEnd Of(ExecResult result) =>
        new(result.ExitCode, result.Signal, result.TimedOut, result.OomKilled, result.Truncated, result.DurationMs, result.Killed, result.FullOutput, result.NetworkRefusals,
            result.Artifacts);

    /// <summary>The command's own status, as a shell would report it.</summary>
    public int CommandStatus => ExitCodes.For(ExitCode, Signal, TimedOut);

    /// <summary>Writes the notes the end deserves (timed out, OOM-killed, output cut) and returns hutch's exit status.</summary>
    /// <param name="sandbox">The sandbox as the caller named it, for the command that reads the kept output; null when it is gone with the command (`run`).</param>
    public int Finish(CliConsole console, OutputCap cap, string? sandbox = null)
    {
        // What the sandbox's network refused while the command ran, next to the program's own error
        // ("Could not resolve host"), so the reason and the policy entry to add are in one place.
        foreach (var refusal in NetworkRefusals ?? [])
        {
            console.Fail($"network: {refusal.Message}", refusal.Code);
        }
        if (Artifacts is { Count: > 0 } kept)
        {
            console.Fail(KeptNote(kept, sandbox));
        }
        if (TimedOut)
        {
            var what = Killed is { } k
                ? $": {k.Signal} to its process group {k.ProcessGroup} ({k.Processes} process{(k.Processes == 1 ? "" : "es")})"
                : "";
            console.Fail($"the command ran past its timeout{(DurationMs is { } ms ? $" ({Output.Format.Millis(ms)})" : "")} and was killed{what}", "timed_out");
        }
        if (OomKilled)
        {
            console.Fail("the command was killed for running out of memory: raise --memory when creating the sandbox", "oom_killed");
        }
        if (!Truncated)
        {
            return CommandStatus;
        }
        var limit = Output.Format.Bytes(cap.MaxOutputBytes ?? OutputCap.DefaultBytes);
        var raise = (cap.MaxOutputBytes ?? OutputCap.DefaultBytes) < OutputCap.MostBytes
            ? $"raise the cap with --max-output (up to {Output.Format.Bytes(OutputCap.MostBytes)})"
            : "send the output to a file in the sandbox and read it with `hutch fs cat`";
        var status = cap.AllowTruncation ? "" : $"; exit status {ExitCodes.OutputTruncated} instead of the command's";
        // The daemon keeps all of it (but what its bound or the sandbox's quota dropped, said too): name how to read it.
        var rest = (FullOutput, sandbox) is ({ } full, { } name)
            ? $"; the whole output{(full.Complete ? "" : $" but its last {Output.Format.Bytes(full.DroppedBytes)}")} is kept: hutch output {name} {full.Id} [--stderr]"
            : "";
        console.Fail($"output truncated: only the first {limit} of stdout and stderr were printed; the command {Describe()}{status}; {raise}{rest}", "output_truncated");
        return cap.AllowTruncation ? CommandStatus : ExitCodes.OutputTruncated;
    }

    /// <summary>"kept out/a.csv (24 B), out/b.png (1.2 KiB, pending): hutch artifacts ls box": what the command's files became, and where to find them.</summary>
    internal static string KeptNote(IReadOnlyList<ArtifactInfo> kept, string? sandbox)
    {
        var named = string.Join(", ", kept.Take(ArtifactsNamed).Select(a =>
            $"{Output.SafeText.Show(a.Path)} ({Output.Format.Bytes(a.Size)}{(a.State == ArtifactStates.Stored ? "" : ", " + a.State)})"));
        var more = kept.Count > ArtifactsNamed ? $" and {kept.Count - ArtifactsNamed} more" : "";
        var where = sandbox is null ? "" : $": hutch artifacts ls {sandbox}";
        return $"kept {named}{more}{where}";
    }

    private string Describe() => (ExitCode, Signal, TimedOut) switch
    {
        (_, _, true) => $"timed out ({CommandStatus})",
        ({ } code, _, _) => $"exited with {code}",
        (null, { } signal, _) => $"was killed by {signal} ({CommandStatus})",
        _ => "ended without a status",
    };
}
