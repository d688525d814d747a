using Hutch.Protocol.Api;

namespace Hutch.Artifacts;

/// <summary>A refusal of the artifact store or of an artifact request, with its stable code (<see cref="ErrorCodes"/>).</summary>
public sealed class ArtifactException(string code, string message, Exception? inner = null) : CodedException(code, message, inner);
