using Hutch.Protocol.Api;

namespace Hutch.Client;

/// <summary>
/// A request to the Hutch daemon failed. <see cref="CodedException.Code"/> is stable (one of <see cref="ErrorCodes"/>
/// from the daemon, or one of <see cref="ClientErrorCodes"/> when no answer came): branch on it, never on
/// the message. Only this library throws it.
/// </summary>
public sealed class HutchApiException : CodedException
{
    internal HutchApiException(string code, int status, string detail, Exception? inner = null, TimeSpan? retryAfter = null)
        : base(code, detail, inner)
    {
        Status = status;
        Detail = detail;
        RetryAfter = retryAfter;
    }

    /// <summary>The HTTP status of the answer, or 0 when the daemon gave none (connection refused or dropped).</summary>
    public int Status { get; }

    /// <summary>What went wrong and what to do instead, as the daemon wrote it. Never contains a secret.</summary>
    public string Detail { get; }

    /// <summary>
    /// How long the daemon asked the caller to wait before sending the request again (the
    /// <c>Retry-After</c> header), or null when it did not say. Every 429 (<c>rate_limited</c>) carries
    /// one: a limit of commands or creates in flight, or of resizes per second, was full. The client
    /// never retries by itself (a command may not be safe to run twice); wait this long and retry.
    /// </summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>
    /// True when trying the same request again later may succeed: no answer at all (daemon down,
    /// connection dropped), a 5xx, or a code the API calls transient (<see cref="ErrorStatus.IsTransient"/>:
    /// rate_limited, workspace_busy, …). False for a request the daemon refused for what it is.
    /// </summary>
    public override bool IsTransient => Status is 0 or >= 500 || ErrorStatus.IsTransient(Code);
}

/// <summary>Codes of <see cref="HutchApiException"/> raised by the client itself, when the daemon gave no usable answer.</summary>
public static class ClientErrorCodes
{
    /// <summary>Nothing listens at the base address (connection refused, host unreachable, DNS failure).</summary>
    public const string DaemonUnreachable = "daemon_unreachable";

    /// <summary>No API key was found: neither HUTCH_API_KEY nor a readable api-key file.</summary>
    public const string NoApiKey = "no_api_key";

    /// <summary>The connection broke mid-answer, or an exec stream ended without its exit event.</summary>
    public const string StreamInterrupted = "stream_interrupted";

    /// <summary>The daemon answered with something this client cannot read (another server on the port, or a version mismatch).</summary>
    public const string InvalidResponse = "invalid_response";
}
