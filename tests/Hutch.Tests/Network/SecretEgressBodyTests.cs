using System.Diagnostics;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Hutch.Tests.Secrets;

namespace Hutch.Tests.Network;

/// <summary>
/// A secret that says <c>substitute: ["body"]</c>, end to end with curl inside a sandbox and the
/// real HTTPS upstream reading each body as its framing says: the value arrives in the body with a
/// true Content-Length (chunked and 100-continue uploads included); a body over the limit, or sent
/// to a host that is not the secret's, arrives with the placeholder.
/// </summary>
public sealed class SecretEgressBodyTests(EgressFixture fixture) : IClassFixture<EgressFixture>
{
    private const string Name = EgressUpstreams.HostName;
    private static readonly string Https = $"https://{Name}:{EgressUpstreams.HttpsPort}";

    private HutchClient Client => fixture.Client;

    /// <summary>A secret for the upstream's name that says body only, and a sandbox that may reach it and fronted.test (another name on the same server).</summary>
    private async Task<(string Name, string Value, string Placeholder, TestSandbox Sandbox)> SandboxAsync([System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        var value = TestSecrets.Value("body");
        var name = await TestSecrets.StoreAsync(Client, new CreateSecretRequest(Value: value, Hosts: [Name], Substitute: ["body"]), test);
        var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(
            Network: new NetworkPolicy(NetworkModes.Allowlist, [$"{Name}:{EgressUpstreams.HttpsPort}", $"fronted.test:{EgressUpstreams.HttpsPort}", "net:test:9"]),
            Secrets: [new SecretUse(name, Env: "API_KEY")]));
        var placeholder = (await sandbox.ShAsync("printf %s \"$API_KEY\"")).Stdout;
        return (name, value, placeholder, sandbox);
    }

    private UpstreamHttpRequest Seen(string target) => fixture.Upstreams.HttpRequestsSeen.Last(r => r.Target == target);

    private static string Text(byte[]? body) => body is null ? "(no whole body)" : Encoding.Latin1.GetString(body);

    [Fact]
    public async Task AJsonPost_CarriesTheValue_WithATrueContentLength_AndToAnotherHostThePlaceholder()
    {
        var (_, value, placeholder, sandbox) = await SandboxAsync();
        await using var _ = sandbox;
        const string Json = "{\"key\":\"'\"$API_KEY\"'\",\"n\":1}";

        var post = await sandbox.ShAsync($"curl -sS --max-time 10 -H 'Content-Type: application/json' -H \"Authorization: Bearer $API_KEY\" --data '{Json}' {Https}/body");
        var other = await sandbox.ShAsync($"curl -sS -k --max-time 10 -H 'Content-Type: application/json' --data '{Json}' https://fronted.test:{EgressUpstreams.HttpsPort}/body-other");

        Assert.True(post.ExitCode == 0, post.Stderr);
        var seen = Seen("/body");
        Assert.Equal($"{{\"key\":\"{value}\",\"n\":1}}", Text(seen.Body));
        Assert.Equal(seen.Body!.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), seen.ContentLength);
        Assert.Equal($"Bearer {placeholder}", seen.Authorization); // the secret says body, not header
        Assert.True(other.ExitCode == 0, other.Stderr);
        Assert.Equal($"{{\"key\":\"{placeholder}\",\"n\":1}}", Text(Seen("/body-other").Body));
    }

    [Fact]
    public async Task AChunkedUpload_ArrivesDechunked_WithTheValueAndAContentLength()
    {
        var (_, value, _, sandbox) = await SandboxAsync();
        await using var _ = sandbox;

        // 3 KiB before the placeholder, so curl sends it in more than one chunk.
        var curl = await sandbox.ShAsync("head -c 3072 /dev/zero | tr '\\0' a > /tmp/up; printf 'key=%s;' \"$API_KEY\" >> /tmp/up; "
            + $"curl -sS --max-time 10 -H 'Transfer-Encoding: chunked' --data-binary @/tmp/up {Https}/chunked");

        Assert.True(curl.ExitCode == 0, curl.Stderr);
        var seen = Seen("/chunked");
        Assert.Null(seen.TransferEncoding);
        Assert.Equal(new string('a', 3072) + $"key={value};", Text(seen.Body));
        Assert.Equal(seen.Body!.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), seen.ContentLength);
    }

    [Fact]
    public async Task AClientThatExpects100Continue_GetsItFromTheDaemon_AndItsBodyCarriesTheValue()
    {
        var (_, value, _, sandbox) = await SandboxAsync();
        await using var _ = sandbox;

        // curl waits up to --expect100-timeout for the 100 before it sends the body: far past --max-time, so a missing 100 fails it.
        var started = Stopwatch.StartNew();
        var curl = await sandbox.ShAsync($"curl -sS --max-time 10 --expect100-timeout 60 -H 'Expect: 100-continue' --data-binary \"k=$API_KEY\" {Https}/expect");
        var took = started.Elapsed;

        Assert.True(curl.ExitCode == 0, curl.Stderr);
        Assert.Equal($"k={value}", Text(Seen("/expect").Body));
        Assert.True(took < TimeSpan.FromSeconds(5), $"took {took}");
    }

    [Fact]
    public async Task ABodyOverTheLimit_ArrivesWithThePlaceholder_AndAnEventSaysWhy()
    {
        var (_, value, placeholder, sandbox) = await SandboxAsync();
        await using var _ = sandbox;
        const int Filler = (1 << 20) + 10;

        var curl = await sandbox.ShAsync($"head -c {Filler} /dev/zero | tr '\\0' a > /tmp/big; printf %s \"$API_KEY\" >> /tmp/big; "
            + $"curl -sS --max-time 20 --data-binary @/tmp/big {Https}/big && curl -sS --max-time 10 --data-binary \"small=$API_KEY\" {Https}/small");
        var events = await EventsAsync(sandbox.Id, "secret_body_too_large");

        Assert.True(curl.ExitCode == 0, curl.Stderr);
        var seen = Seen("/big");
        Assert.Equal((Filler + placeholder.Length).ToString(System.Globalization.CultureInfo.InvariantCulture), seen.ContentLength);
        Assert.True(Text(seen.Body).EndsWith(new string('a', 8) + placeholder, StringComparison.Ordinal), "the body did not arrive whole and unchanged");
        var note = Assert.Single(events, e => e.Code == "secret_body_too_large");
        Assert.Equal(NetworkOutcomes.Allowed, note.Outcome);
        Assert.Contains($"of {Filler + placeholder.Length} bytes is over the 1 MiB", note.Message, StringComparison.Ordinal);
        Assert.Equal($"small={value}", Text(Seen("/small").Body)); // the next request is substituted again
    }

    /// <summary>The sandbox's network events once one with <paramref name="code"/> is there (5 s at most).</summary>
    private async Task<List<NetworkEvent>> EventsAsync(string sandboxId, string code)
    {
        var events = new List<NetworkEvent>();
        for (var i = 0; i < 100 && !events.Any(e => e.Code == code); i++)
        {
            events.Clear();
            await foreach (var e in Client.ReadNetworkEventsAsync(sandboxId))
            {
                events.Add(e);
            }
            await Task.Delay(50);
        }
        return events;
    }
}
