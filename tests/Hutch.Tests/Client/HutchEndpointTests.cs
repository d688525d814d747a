using Hutch.Client;

namespace Hutch.Tests.Client;

[Trait("Category", "Unit")]
public sealed class HutchEndpointTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("hutch-endpoint-").FullName;

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    private HutchEndpoint Discover(Dictionary<string, string>? env = null, Func<int, bool>? alive = null, string? url = null, string? key = null) =>
        HutchEndpoint.Discover(_dataDir, url, key, name => env?.GetValueOrDefault(name), alive ?? (_ => true));

    [Fact]
    public void WithNothingConfigured_TheDefaultUrlIsAGuess_AndThereIsNoKey()
    {
        var endpoint = Discover();

        Assert.Equal(new Uri("http://127.0.0.1:7311/"), endpoint.BaseAddress);
        Assert.False(endpoint.Advertised);
        Assert.Null(endpoint.ApiKey);
    }

    [Fact]
    public void HutchUrl_Wins_OverDaemonJson()
    {
        File.WriteAllText(Path.Join(_dataDir, "daemon.json"), """{"url":"http://127.0.0.1:9000","pid":1}""");

        var endpoint = Discover(new() { ["HUTCH_URL"] = "http://10.0.0.5:7311" });

        Assert.Equal("http://10.0.0.5:7311/", endpoint.BaseAddress.ToString());
        Assert.True(endpoint.Advertised);
    }

    [Fact]
    public void DaemonJson_OfALiveDaemon_GivesItsUrl()
    {
        File.WriteAllText(Path.Join(_dataDir, "daemon.json"), """{"url":"http://127.0.0.1:9000","pid":1234}""");

        var endpoint = Discover(alive: pid => pid == 1234);

        Assert.Equal("http://127.0.0.1:9000/", endpoint.BaseAddress.ToString());
        Assert.True(endpoint.Advertised);
    }

    [Fact]
    public void DaemonJson_OfADeadDaemon_IsIgnored()
    {
        File.WriteAllText(Path.Join(_dataDir, "daemon.json"), """{"url":"http://127.0.0.1:9000","pid":1234}""");

        var endpoint = Discover(alive: _ => false);

        Assert.Equal("http://127.0.0.1:7311/", endpoint.BaseAddress.ToString());
        Assert.False(endpoint.Advertised);
    }

    [Fact]
    public void AHalfWrittenDaemonJson_IsIgnored()
    {
        File.WriteAllText(Path.Join(_dataDir, "daemon.json"), """{"url":"http://127.0""");

        Assert.False(Discover().Advertised);
    }

    [Fact]
    public void TheKey_ComesFromTheEnvironment_BeforeTheFile()
    {
        File.WriteAllText(Path.Join(_dataDir, "api-key"), "from-file\n");

        Assert.Equal("from-file", Discover().ApiKey);
        Assert.Equal("from-env", Discover(new() { ["HUTCH_API_KEY"] = "from-env" }).ApiKey);
    }

    [Fact]
    public void ABadHutchUrl_SaysWhatToSet()
    {
        var e = Assert.Throws<HutchApiException>(() => Discover(new() { ["HUTCH_URL"] = "127.0.0.1:7311" }));

        Assert.Contains("HUTCH_URL", e.Detail);
    }

    [Fact]
    public void AClient_NeedsAKey()
    {
        var e = Assert.Throws<HutchApiException>(() => HutchClient.FromEndpoint(Discover()));

        Assert.Equal(ClientErrorCodes.NoApiKey, e.Code);
        Assert.Contains(Path.Join(_dataDir, "api-key"), e.Detail);
    }

    [Fact]
    public void AGivenUrlAndKey_WinOverTheEnvironment()
    {
        File.WriteAllText(Path.Join(_dataDir, "api-key"), "from-file\n");

        var endpoint = Discover(new() { ["HUTCH_URL"] = "http://10.0.0.5:7311", ["HUTCH_API_KEY"] = "from-env" }, url: "http://127.0.0.1:9100", key: "given");

        Assert.Equal(("http://127.0.0.1:9100/", "given", "--url", true), (endpoint.BaseAddress.ToString(), endpoint.ApiKey, endpoint.Source, endpoint.IsExplicit));
    }

    [Fact]
    public void AUrlAlone_TakesTheDataDirsKey()
    {
        File.WriteAllText(Path.Join(_dataDir, "api-key"), "from-file\n");

        var byOption = Discover(url: "http://127.0.0.1:9100");
        var byEnv = Discover(new() { ["HUTCH_URL"] = "http://127.0.0.1:9100" });

        Assert.Equal(("from-file", "from-file"), (byOption.ApiKey, byEnv.ApiKey));
        Assert.Equal("HUTCH_URL", byEnv.Source);
        Assert.False(Discover().IsExplicit);
    }
}
