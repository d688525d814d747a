using Hutch.Protocol.Api;

namespace Hutch.Cli;

/// <summary>A failure the CLI itself detects, reported as <c>hutch: message (code)</c> with <see cref="ExitCode"/>.</summary>
internal sealed class CliException(string code, string message, int exitCode = ExitCodes.Failure) : CodedException(code, message)
{
    public int ExitCode { get; } = exitCode;
}
