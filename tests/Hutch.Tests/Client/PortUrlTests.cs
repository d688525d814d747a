using Hutch.Client;

namespace Hutch.Tests.Client;

/// <summary>The SDK's addresses of a server inside a sandbox: /v1/sandboxes/{id}/ports/{port}/….</summary>
[Trait("Category", "Unit")]
public sealed class PortUrlTests : IDisposable
{
    private readonly HutchClient _client = new(new Uri("http://proxy/hutch"), "secret-key");

    public void Dispose() => _client.Dispose();

    [Theory]
    [InlineData(null, "http://proxy/hutch/v1/sandboxes/box/ports/8000/")]
    [InlineData("", "http://proxy/hutch/v1/sandboxes/box/ports/8000/")]
    [InlineData("api/items?page=2", "http://proxy/hutch/v1/sandboxes/box/ports/8000/api/items?page=2")]
    [InlineData("/api/items?page=2", "http://proxy/hutch/v1/sandboxes/box/ports/8000/api/items?page=2")]
    [InlineData("a:b", "http://proxy/hutch/v1/sandboxes/box/ports/8000/a:b")]
    public void PortUrl_IsUnderTheBaseAddress_WithThePathTheServerSees(string? path, string expected)
    {
        Assert.Equal(expected, _client.PortUrl("box", 8000, path).AbsoluteUri);
    }

    [Fact]
    public void PortUrl_EscapesTheSandboxId()
    {
        Assert.Equal("http://proxy/hutch/v1/sandboxes/a%2Fb/ports/80/", _client.PortUrl("a/b", 80).AbsoluteUri);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65536)]
    public void PortUrl_RefusesAPortOutOfRange(int port)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _client.PortUrl("box", port));
    }

    [Fact]
    public void CreatePortRequest_CarriesTheKey()
    {
        using var request = _client.CreatePortRequest(HttpMethod.Post, "box", 3000, "upload");

        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("http://proxy/hutch/v1/sandboxes/box/ports/3000/upload", request.RequestUri!.AbsoluteUri);
        Assert.Equal("Bearer secret-key", request.Headers.Authorization!.ToString());
    }
}
