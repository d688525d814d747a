using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;
using Hutch.Tests.Secrets;

namespace Hutch.Tests.Network;

/// <summary>
/// The placeholder kind end to end, with real upstreams in the fixture's namespace: the sandbox only
/// ever holds and prints a placeholder; the daemon terminates TLS to the secret's host with the
/// sandbox's own CA (trusted inside through /etc/ssl/hutch and the trust variables) and sends the
/// real value there, and nowhere else.
/// </summary>
public sealed class SecretEgressTests(EgressFixture fixture) : IClassFixture<EgressFixture>
{
    private const string Name = EgressUpstreams.HostName;
    private static readonly string Https = $"https://{Name}:{EgressUpstreams.HttpsPort}";

    private HutchClient Client => fixture.Client;
    private EgressUpstreams Up => fixture.Upstreams;

    /// <summary>A secret for the upstream's name, and a sandbox that may reach it and fronted.test (another name on the same server) on both ports.</summary>
    private async Task<(string Name, string Value, TestSandbox Sandbox)> SandboxAsync([System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        var value = TestSecrets.Value("live");
        var name = await TestSecrets.StoreAsync(Client, new CreateSecretRequest(Value: value, Hosts: [Name]), test);
        var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(
            Network: new NetworkPolicy(NetworkModes.Allowlist, [$"{Name}:{EgressUpstreams.HttpPort}", $"{Name}:{EgressUpstreams.HttpsPort}",
                $"fronted.test:{EgressUpstreams.HttpsPort}", "net:test:9"]),
            Secrets: [new SecretUse(name, Env: "API_KEY")]));
        return (name, value, sandbox);
    }

    private UpstreamHttpRequest? LastRequest(string target) => Up.HttpRequestsSeen.LastOrDefault(r => r.Target == target);

    [Fact]
    public async Task TheSecretsHost_GetsTheRealKey_WhileTheSandboxOnlyEverHeldThePlaceholder()
    {
        var (name, value, sandbox) = await SandboxAsync();
        await using var _ = sandbox;

        var held = await sandbox.ShAsync("printf %s \"$API_KEY\"");
        var placeholder = held.Stdout;
        var curl = await sandbox.ShAsync($"curl -sS --max-time 10 -H \"Authorization: Bearer $API_KEY\" {Https}/whoami");
        var seen = LastRequest("/whoami");
        var info = await Client.GetSandboxAsync(sandbox.Id);

        Assert.StartsWith("hutchph_", placeholder, StringComparison.Ordinal);
        Assert.DoesNotContain(value, placeholder, StringComparison.Ordinal);
        Assert.True(curl.ExitCode == 0, curl.Stderr);
        Assert.Equal($"host={Name}:{EgressUpstreams.HttpsPort}", curl.Stdout.Split('\n')[0]);
        Assert.Equal($"Bearer {value}", seen?.Authorization);
        Assert.Equal([new SecretUseInfo(name, SecretKinds.Placeholder, "API_KEY")], info.Secrets!);
    }

    [Fact]
    public async Task PythonNodeAndWget_TrustTheSandboxsCa_AndTheirRequestsCarryTheKey()
    {
        var (_, value, sandbox) = await SandboxAsync();
        await using var _ = sandbox;

        // urllib goes through HTTPS_PROXY (CONNECT), Node's fetch ignores it and is captured; each reads its own trust variable.
        var python = await sandbox.ShAsync("python3 -c \"import urllib.request as u, os; "
            + $"print(u.urlopen(u.Request('{Https}/python', headers={{'Authorization': 'Bearer ' + os.environ['API_KEY']}})).status)\"");
        var node = await sandbox.ShAsync($"node -e \"fetch('{Https}/node', {{headers: {{Authorization: 'Bearer ' + process.env.API_KEY}}}}).then(r => console.log(r.status))\"");
        var wget = await sandbox.ShAsync($"wget -q -O /dev/null --header \"Authorization: Bearer $API_KEY\" {Https}/wget && echo 200");

        Assert.Equal(("200\n", "200\n", "200\n"), (python.Stdout + python.Stderr, node.Stdout + node.Stderr, wget.Stdout + wget.Stderr));
        Assert.All(new[] { "/python", "/node", "/wget" }, target => Assert.Equal($"Bearer {value}", LastRequest(target)?.Authorization));
    }

    [Fact]
    public async Task ASecretThatSaysQuery_IsSwappedInTheQuery_AndOnlyThere()
    {
        var value = TestSecrets.Value("query");
        var name = await TestSecrets.StoreAsync(Client, new CreateSecretRequest(Value: value, Hosts: [Name], Substitute: ["query"]));
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(
            Network: new NetworkPolicy(NetworkModes.Allowlist, [$"{Name}:{EgressUpstreams.HttpsPort}", "net:test:9"]),
            Secrets: [new SecretUse(name, Env: "API_KEY")]));
        var placeholder = (await sandbox.ShAsync("printf %s \"$API_KEY\"")).Stdout;

        var curl = await sandbox.ShAsync($"curl -sS --max-time 10 -H \"Authorization: Bearer $API_KEY\" \"{Https}/q/$API_KEY?key=$API_KEY&x=1\"");

        Assert.True(curl.ExitCode == 0, curl.Stderr);
        var seen = Up.HttpRequestsSeen.Last(r => r.Target.StartsWith("/q/", StringComparison.Ordinal));
        Assert.Equal($"/q/{placeholder}?key={Uri.EscapeDataString(value)}&x=1", seen.Target); // the path is never touched
        Assert.Equal($"Bearer {placeholder}", seen.Authorization); // headers were not asked for
    }

    [Fact]
    public async Task APlaceholderInAFile_IsSwappedTheSameWay()
    {
        var value = TestSecrets.Value("file");
        var name = await TestSecrets.StoreAsync(Client, new CreateSecretRequest(Value: value, Hosts: [Name]));
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(
            Network: new NetworkPolicy(NetworkModes.Allowlist, [$"{Name}:{EgressUpstreams.HttpsPort}", "net:test:9"]),
            Secrets: [new SecretUse(name, SecretKinds.Placeholder, File: "api_key")]));

        var held = await sandbox.ShAsync("cat /run/secrets/api_key; echo; stat -c %a /run/secrets/api_key");
        var curl = await sandbox.ShAsync($"curl -sS --max-time 10 -H \"Authorization: Bearer $(cat /run/secrets/api_key)\" {Https}/from-file");

        Assert.Matches("^hutchph_[a-z2-7]{32}\n400\n$", held.Stdout);
        Assert.True(curl.ExitCode == 0, curl.Stderr);
        Assert.Equal($"Bearer {value}", LastRequest("/from-file")?.Authorization);
    }

    [Fact]
    public async Task ThePlaceholder_SentAnywhereElse_ArrivesUnchanged()
    {
        var (_, _, sandbox) = await SandboxAsync();
        await using var _ = sandbox;
        var placeholder = (await sandbox.ShAsync("printf %s \"$API_KEY\"")).Stdout;

        // Plain HTTP to the secret's own host: a key is never put in clear text.
        var plain = await sandbox.ShAsync($"curl -sS --max-time 10 -H \"Authorization: Bearer $API_KEY\" http://{Name}:{EgressUpstreams.HttpPort}/plain");
        var plainSeen = LastRequest("/plain");
        // TLS to another name that is not one of the secret's hosts (the same server): relayed untouched.
        var other = await sandbox.ShAsync($"curl -sS -k --max-time 10 -H \"Authorization: Bearer $API_KEY\" https://fronted.test:{EgressUpstreams.HttpsPort}/other");
        var otherSeen = LastRequest("/other");

        Assert.True(plain.ExitCode == 0, plain.Stderr);
        Assert.Equal($"Bearer {placeholder}", plainSeen?.Authorization);
        Assert.True(other.ExitCode == 0, other.Stderr);
        Assert.Equal($"Bearer {placeholder}", otherSeen?.Authorization);
    }

    [Fact]
    public async Task AnEchoedKey_ComesBackAsThePlaceholder_AndBasicCredentialsAreSubstitutedInside()
    {
        var (_, value, sandbox) = await SandboxAsync();
        await using var _ = sandbox;
        var placeholder = (await sandbox.ShAsync("printf %s \"$API_KEY\"")).Stdout;

        var echoed = await sandbox.ShAsync($"curl -sS --max-time 10 -H \"Authorization: Bearer $API_KEY\" {Https}/echo-auth");
        // git and pip send user:password as Basic: the placeholder inside the base64 is found too.
        var basic = await sandbox.ShAsync($"curl -sS --max-time 10 -u \"bot:$API_KEY\" {Https}/basic");
        var basicSeen = LastRequest("/basic");

        Assert.Equal($"authorization=Bearer {placeholder}\n", echoed.Stdout);
        Assert.Equal("Basic " + Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes($"bot:{value}")), basicSeen?.Authorization);
        Assert.True(basic.ExitCode == 0, basic.Stderr);
    }

    [Fact]
    public async Task APlaceholderInTheHostHeader_IsRefused_AndTheTrustStoreCannotBeChanged()
    {
        var (_, value, sandbox) = await SandboxAsync();
        await using var _ = sandbox;

        var host = await sandbox.ShAsync($"curl -sS --max-time 10 -w ' %{{http_code}}' -H \"Host: $API_KEY\" -H \"Authorization: Bearer $API_KEY\" {Https}/host-attack");
        var trust = await sandbox.ShAsync("ls /etc/ssl/hutch; grep -rl 'PRIVATE KEY' /etc/ssl/hutch; touch /etc/ssl/hutch/x || echo read-only; "
            + "echo junk > /etc/ssl/hutch/ca-certificates.crt || echo read-only");

        Assert.StartsWith("egress_fronting: ", host.Stdout, StringComparison.Ordinal);
        Assert.EndsWith(" 403", host.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(Up.HttpRequestsSeen, r => r.Target == "/host-attack");
        Assert.Equal("ca-certificates.crt\negress-ca.crt\nwgetrc\nread-only\nread-only\n", trust.Stdout);
        Assert.Empty(HostInspector.FilesHolding(fixture.DataDir, value));
    }

    [Fact]
    public async Task ANetworkEventThatQuotesAValue_HoldsTheMarker_OnDiskToo()
    {
        var value = TestSecrets.Value("evt");
        var name = await TestSecrets.StoreAsync(Client, value);
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(
            Network: new NetworkPolicy(NetworkModes.Allowlist, [$"{Name}:{EgressUpstreams.HttpPort}", "net:test:9"]),
            Secrets: [new SecretUse(name, Env: "K")]));

        // A Host that is not the connection's name is refused, and its event quotes it.
        await sandbox.ShAsync($"curl -sS --max-time 5 -H \"Host: $K\" http://{Name}:{EgressUpstreams.HttpPort}/evt");
        var events = new List<NetworkEvent>();
        for (var i = 0; i < 100 && !events.Any(e => e.Code == "egress_fronting"); i++)
        {
            events.Clear();
            await foreach (var e in Client.ReadNetworkEventsAsync(sandbox.Id))
            {
                events.Add(e);
            }
            await Task.Delay(50);
        }

        Assert.Contains(events, e => e.Code == "egress_fronting" && e.Message.Contains($"[REDACTED:{name}]", StringComparison.Ordinal));
        Assert.Empty(HostInspector.FilesHolding(fixture.DataDir, value));
    }
}
