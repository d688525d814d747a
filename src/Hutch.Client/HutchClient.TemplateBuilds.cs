using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Hutch.Protocol.Api;

namespace Hutch.Client;

/// <summary>How to build a template from a Dockerfile (<see cref="HutchClient.BuildTemplateAsync"/>).</summary>
/// <param name="Name">The template's name.</param>
/// <param name="Version">Its version; null: the next number.</param>
/// <param name="Dockerfile">The Dockerfile's path in the context; null: Dockerfile.</param>
/// <param name="BuildArgs">Values of the Dockerfile's ARGs, as docker build --build-arg.</param>
/// <param name="NoCache">Run every step again, taking nothing from the build cache.</param>
/// <param name="Network">The build sandboxes' network policy; null: the package-registries preset (apt, pip and npm indexes).</param>
public sealed record TemplateBuildOptions(
    string Name,
    string? Version = null,
    string? Dockerfile = null,
    IReadOnlyDictionary<string, string>? BuildArgs = null,
    bool NoCache = false,
    NetworkPolicy? Network = null);

public sealed partial class HutchClient
{
    /// <summary>
    /// Builds a template's version from a Dockerfile (<c>POST /v1/templates/build</c>) and yields
    /// the build's events as they happen: each step starting, its output, cached or done, warnings,
    /// and at the end <see cref="BuildFinishedEvent"/> with the version. A failed build throws once
    /// its events so far were yielded, and makes no template.
    /// </summary>
    /// <param name="context">The build context as a tar (the directory COPY and ADD read from, with the Dockerfile in it), read to its end.</param>
    /// <param name="options">The name, version and how to build.</param>
    /// <param name="cancellationToken">Stops the build (its sandbox is deleted).</param>
    /// <exception cref="HutchApiException">
    /// <c>dockerfile_invalid</c> (naming the line), <c>build_context_invalid</c>, <c>template_not_found</c> (FROM),
    /// <c>build_step_failed</c> (the step, its line and the tail of its output), <c>template_exists</c>.
    /// </exception>
    public async IAsyncEnumerable<TemplateBuildEvent> BuildTemplateAsync(Stream context, TemplateBuildOptions options,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(options);
        var query = new List<string> { "name=" + Uri.EscapeDataString(options.Name) };
        void Add(string name, string? value)
        {
            if (value is not null)
            {
                query.Add(name + "=" + Uri.EscapeDataString(value));
            }
        }
        Add("version", options.Version);
        Add("dockerfile", options.Dockerfile);
        foreach (var (name, value) in options.BuildArgs ?? new Dictionary<string, string>())
        {
            Add("buildArg", name + "=" + value);
        }
        Add("noCache", options.NoCache ? "true" : null);
        if (options.Network is { } network)
        {
            Add("network", network.Mode);
            foreach (var entry in network.Allow ?? [])
            {
                Add("allow", entry);
            }
            foreach (var entry in network.Deny ?? [])
            {
                Add("deny", entry);
            }
            Add("preset", network.Preset);
        }
        using var message = NewRequest(HttpMethod.Post, "v1/templates/build?" + string.Join('&', query));
        message.Content = new StreamContent(context);
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-tar");
        message.Headers.Accept.Add(NdjsonMediaType);
        var body = await SendForStreamAsync(message, cancellationToken).ConfigureAwait(false);
        await using var reader = new NdjsonReader<TemplateBuildEvent>(body, Json.TemplateBuildEvent);
        while (true)
        {
            TemplateBuildEvent? next;
            try
            {
                next = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                throw new HutchApiException(ClientErrorCodes.StreamInterrupted, 0, $"The connection to the Hutch daemon at {BaseAddress} broke during a template build.", e);
            }
            switch (next)
            {
                case null:
                    throw new HutchApiException(ClientErrorCodes.StreamInterrupted, 0, $"The build stream from {BaseAddress} ended before the build finished.");
                case BuildErrorEvent error:
                    throw new HutchApiException(error.Code, ErrorStatus.Of(error.Code), error.Message);
                case BuildFinishedEvent:
                    yield return next;
                    yield break;
                default:
                    yield return next;
                    break;
            }
        }
    }
}
