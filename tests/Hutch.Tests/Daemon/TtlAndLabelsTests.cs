using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>A TTL is checked, can be changed while the sandbox runs, and its end is told apart from "no such sandbox"; labels find sandboxes.</summary>
[Collection(DaemonCollection.Name)]
public class TtlAndLabelsTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task Create_WithTtlZero_IsRefusedNamingTtlSeconds()
    {
        var (status, problem) = await fixture.PostForProblemAsync("", """{"ttlSeconds":0}""");

        Assert.Equal(400, (int)status);
        Assert.Equal(ErrorCodes.InvalidTtl, problem.Code);
        Assert.Contains("ttlSeconds", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetTtl_OnARunningSandbox_ExtendsItFromNow()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(TtlSeconds: 2));

        var info = await Client.SetTtlAsync(sandbox.Id, TimeSpan.FromMinutes(30));
        await Task.Delay(TimeSpan.FromSeconds(3.5)); // past the first TTL, with the reaper running every second

        Assert.InRange(info.ExpiresAt!.Value - DateTimeOffset.UtcNow, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(30));
        Assert.Equal(SandboxStates.Running, (await Client.GetSandboxAsync(sandbox.Id)).State);
        Assert.Equal(0, (await sandbox.ShAsync("true")).ExitCode);
    }

    [Fact]
    public async Task SetTtl_OnASandboxWithoutOne_SetsIt()
    {
        await using var sandbox = await fixture.CreateAsync();
        Assert.Null(sandbox.Info.ExpiresAt);

        using var http = fixture.RawHttp();
        using var response = await http.PatchAsync($"/v1/sandboxes/{sandbox.Id}",
            new StringContent("""{"ttlSeconds":600}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(200, (int)response.StatusCode);
        Assert.NotNull((await Client.GetSandboxAsync(sandbox.Id)).ExpiresAt);
    }

    [Fact]
    public async Task AnExpiredSandbox_Answers410SandboxExpired_SayingWhen()
    {
        var sandbox = await Client.CreateSandboxAsync(new CreateSandboxRequest(Name: "exp-" + Guid.NewGuid().ToString("N")[..8], TtlSeconds: 1));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline && (await Client.ListSandboxesAsync()).Any(s => s.Id == sandbox.Id))
        {
            await Task.Delay(200);
        }

        foreach (var key in new[] { sandbox.Id, sandbox.Name! })
        {
            var get = await Assert.ThrowsAsync<HutchApiException>(() => Client.GetSandboxAsync(key));
            Assert.Equal((ErrorCodes.SandboxExpired, 410), (get.Code, get.Status));
            Assert.Contains("expired at " + DateTimeOffset.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), get.Detail, StringComparison.Ordinal);
        }
        var exec = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExecAsync(sandbox.Id, new ExecRequest(Command: "true")));
        Assert.Equal(ErrorCodes.SandboxExpired, exec.Code);
        var patch = await Assert.ThrowsAsync<HutchApiException>(() => Client.SetTtlAsync(sandbox.Id, TimeSpan.FromHours(1)));
        Assert.Equal(ErrorCodes.SandboxExpired, patch.Code);
        await Client.DeleteSandboxAsync(sandbox.Id); // still idempotent
    }

    [Fact]
    public async Task ADeletedSandbox_IsStillNotFound()
    {
        var sandbox = await Client.CreateSandboxAsync();
        await Client.DeleteSandboxAsync(sandbox.Id);

        var get = await Assert.ThrowsAsync<HutchApiException>(() => Client.GetSandboxAsync(sandbox.Id));

        Assert.Equal(ErrorCodes.SandboxNotFound, get.Code);
    }

    [Fact]
    public async Task Labels_AreReturned_AndFilterTheList()
    {
        var team = "t" + Guid.NewGuid().ToString("N")[..8];
        await using var a = await fixture.CreateAsync(new CreateSandboxRequest(Labels: new() { ["team"] = team, ["role"] = "web" }));
        await using var b = await fixture.CreateAsync(new CreateSandboxRequest(Labels: new() { ["team"] = team, ["role"] = "db" }));
        await using var other = await fixture.CreateAsync();

        Assert.Equal("web", (await Client.GetSandboxAsync(a.Id)).Labels!["role"]);
        var mine = await Client.ListSandboxesAsync([new("team", team)]);
        Assert.Equal(new[] { a.Id, b.Id }.Order(), mine.Select(s => s.Id).Order());
        Assert.Equal([b.Id], (await Client.ListSandboxesAsync([new("team", team), new("role", "db")])).Select(s => s.Id));
        using var http = fixture.RawHttp();
        var all = await http.GetStringAsync($"/v1/sandboxes?label=team");
        Assert.Contains(a.Id, all, StringComparison.Ordinal);
        Assert.DoesNotContain(other.Id, all, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"labels":{"bad key":"v"}}""")]
    [InlineData("""{"labels":{"-dash":"v"}}""")]
    [InlineData("""{"labels":{"k":"line\nbreak"}}""")]
    public async Task Labels_ThatAreNotAllowed_AreRefused(string body)
    {
        var (status, problem) = await fixture.PostForProblemAsync("", body);

        Assert.Equal((400, ErrorCodes.InvalidLabel), ((int)status, problem.Code));
    }

    [Fact]
    public async Task Labels_TooLongOrTooMany_AreRefused()
    {
        var longValue = new string('v', 256);
        var many = string.Join(',', Enumerable.Range(0, 33).Select(i => $"\"k{i}\":\"v\""));

        Assert.Equal(ErrorCodes.InvalidLabel, (await fixture.PostForProblemAsync("", $$$"""{"labels":{"k":"{{{longValue}}}"}}""")).Problem.Code);
        Assert.Equal(ErrorCodes.InvalidLabel, (await fixture.PostForProblemAsync("", $$$"""{"labels":{{{{many}}}}}""")).Problem.Code);
    }
}
