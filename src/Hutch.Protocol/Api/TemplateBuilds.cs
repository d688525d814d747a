using System.Text.Json.Serialization;

namespace Hutch.Protocol.Api;

/// <summary>
/// One line of the NDJSON stream of <c>POST /v1/templates/build</c>, told apart by its "type"
/// member: step (a step starts), output (bytes a RUN step wrote, stdout and stderr as they came),
/// cached (a step's result was taken from the cache), network (a connection a RUN step's sandbox
/// made, or a lookup it was refused), done (a step ended), warning (an instruction ignored), error
/// (the build failed: no template was made) or finished (the template's version).
/// A closed set: switch over the eight records.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(BuildStepEvent), TemplateBuildEventTypes.Step)]
[JsonDerivedType(typeof(BuildOutputEvent), TemplateBuildEventTypes.Output)]
[JsonDerivedType(typeof(BuildCachedEvent), TemplateBuildEventTypes.Cached)]
[JsonDerivedType(typeof(BuildNetworkEvent), TemplateBuildEventTypes.Network)]
[JsonDerivedType(typeof(BuildStepDoneEvent), TemplateBuildEventTypes.Done)]
[JsonDerivedType(typeof(BuildWarningEvent), TemplateBuildEventTypes.Warning)]
[JsonDerivedType(typeof(BuildErrorEvent), TemplateBuildEventTypes.Error)]
[JsonDerivedType(typeof(BuildFinishedEvent), TemplateBuildEventTypes.Finished)]
public abstract record TemplateBuildEvent
{
    private protected TemplateBuildEvent()
    {
    }
}

/// <summary>A step starts.</summary>
/// <param name="Step">Its number, 1 for the FROM line, counting every instruction.</param>
/// <param name="Of">How many steps the Dockerfile has.</param>
/// <param name="Line">Its first line in the Dockerfile.</param>
/// <param name="Instruction">The instruction as written (continuations joined), e.g. "RUN apt-get update".</param>
public sealed record BuildStepEvent(int Step, int Of, int Line, string Instruction) : TemplateBuildEvent;

/// <summary>Bytes a RUN step's command wrote (stdout and stderr, in the order they came).</summary>
/// <param name="Step">The step's number.</param>
/// <param name="Data">The bytes, base64 on the wire.</param>
public sealed record BuildOutputEvent(int Step, ReadOnlyMemory<byte> Data) : TemplateBuildEvent;

/// <summary>A RUN, COPY or ADD step's layer was in the cache: it did not run.</summary>
/// <param name="Step">The step's number.</param>
public sealed record BuildCachedEvent(int Step) : TemplateBuildEvent;

/// <summary>
/// A connection a RUN step's build sandbox made, allowed or refused, or a name lookup it was refused,
/// as its network events say (docs/network.md#events): all of the step's, once its command ended,
/// before its done or error event (the build sandbox and its event log go when the step ends).
/// </summary>
/// <param name="Step">The step's number.</param>
/// <param name="Event">The network event (its cursor is the build sandbox's, which is gone).</param>
public sealed record BuildNetworkEvent(int Step, NetworkEvent Event) : TemplateBuildEvent;

/// <summary>A step ended well.</summary>
/// <param name="Step">The step's number.</param>
/// <param name="Layer">The layer it added ("sha256:…"), or null for a step that changes settings only (or changed no file).</param>
/// <param name="DurationMs">How long it took, in milliseconds.</param>
public sealed record BuildStepDoneEvent(int Step, string? Layer, long DurationMs) : TemplateBuildEvent;

/// <summary>An instruction Hutch ignores (EXPOSE, LABEL, MAINTAINER, STOPSIGNAL), or a setting it keeps for reference only.</summary>
/// <param name="Line">The instruction's line.</param>
/// <param name="Message">What was ignored and why.</param>
public sealed record BuildWarningEvent(int Line, string Message) : TemplateBuildEvent;

/// <summary>The build failed and made no template: a stable code and what to do.</summary>
/// <param name="Code">The stable error code (dockerfile_invalid, build_context_invalid, build_step_failed, template_not_found, …).</param>
/// <param name="Message">What went wrong; for a failed step, its line, its instruction and the tail of its output.</param>
/// <param name="Step">The step that failed, when one did.</param>
/// <param name="Line">Its line in the Dockerfile, when one is to blame.</param>
public sealed record BuildErrorEvent(string Code, string Message, int? Step = null, int? Line = null) : TemplateBuildEvent;

/// <summary>The build made (or found, when nothing changed) the template's version.</summary>
/// <param name="Template">The version.</param>
/// <param name="StepsRun">How many RUN, COPY and ADD steps ran (the others were cached).</param>
/// <param name="StepsCached">How many were taken from the cache.</param>
public sealed record BuildFinishedEvent(TemplateInfo Template, int StepsRun, int StepsCached) : TemplateBuildEvent;

/// <summary>The values of a build event's "type".</summary>
public static class TemplateBuildEventTypes
{
    public const string Step = "step";
    public const string Output = "output";
    public const string Cached = "cached";
    public const string Network = "network";
    public const string Done = "done";
    public const string Warning = "warning";
    public const string Error = "error";
    public const string Finished = "finished";
}
