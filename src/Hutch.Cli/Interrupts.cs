using System.Runtime.InteropServices;

namespace Hutch.Cli;

/// <summary>
/// The first SIGINT (Ctrl-C) or SIGTERM cancels <see cref="Token"/> and lets the command clean up (`run`
/// deletes its sandbox); a second one gets the default action and ends the process at once.
/// </summary>
internal sealed class Interrupts : IDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    public Interrupts()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public CancellationToken Token => _cts.Token;

    /// <summary>What to exit with once interrupted: 128 + the signal's number, as shells do.</summary>
    public int ExitCode { get; private set; } = ExitCodes.Interrupted;

    private void OnSignal(PosixSignalContext context)
    {
        if (_cts.IsCancellationRequested)
        {
            return; // Second signal: not cancelled, so the runtime applies the default action (terminate).
        }
        ExitCode = context.Signal == PosixSignal.SIGTERM ? ExitCodes.Terminated : ExitCodes.Interrupted;
        context.Cancel = true;
        _cts.Cancel();
    }

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _cts.Dispose();
    }
}
