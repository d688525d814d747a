using System.Security.Cryptography;
using Hutch.Artifacts;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Artifacts;

public sealed class LinkSignerTests
{
    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void ALink_HoldsItsClaim_UntilItExpires_AndAnAlteredOneIsRefused()
    {
        var clock = new Clock(DateTimeOffset.FromUnixTimeSeconds(1_000_000));
        var signer = new LinkSigner(RandomNumberGenerator.GetBytes(32), clock);
        var claim = new LinkClaim("sb-1", "out/report.pdf", new string('a', 64), 1_000_060);
        var token = signer.Sign(claim);

        var valid = signer.Verify(token);
        var otherPath = signer.Sign(claim with { Path = "out/secret.txt" });
        var spliced = token[..token.IndexOf('.')] + otherPath[otherPath.IndexOf('.')..];
        var forged = Assert.Throws<ArtifactException>(() => signer.Verify(spliced));
        var otherKey = Assert.Throws<ArtifactException>(() => new LinkSigner(RandomNumberGenerator.GetBytes(32), clock).Verify(token));
        clock.Now = DateTimeOffset.FromUnixTimeSeconds(1_000_060);
        var expired = Assert.Throws<ArtifactException>(() => signer.Verify(token));

        Assert.Equal(claim, valid);
        Assert.Equal(ErrorCodes.ArtifactNotFound, forged.Code);
        Assert.Equal(ErrorCodes.ArtifactNotFound, otherKey.Code);
        Assert.Equal(ErrorCodes.LinkExpired, expired.Code);
    }
}
