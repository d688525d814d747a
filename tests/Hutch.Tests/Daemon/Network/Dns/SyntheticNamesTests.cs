using System.Net;
using Hutch.Daemon.Network.Dns;

namespace Hutch.Tests.Daemon.Network.Dns;

/// <summary>The per-sandbox name ↔ synthetic address map of docs/design/0009-egress.md, section 1.</summary>
[Trait("Category", "Unit")]
public sealed class SyntheticNamesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hutch-names-").FullName;

    private string FilePath => Path.Join(_dir, "egress-names");

    [Fact]
    public void NamesGetIndexesInOrderOfFirstUse_AndTheSameIndexAfterwards()
    {
        var names = new SyntheticNames();

        Assert.Equal(0, names.Allocate("a.example.org"));
        Assert.Equal(1, names.Allocate("b.example.org"));
        Assert.Equal(0, names.Allocate("a.example.org"));
        Assert.Equal(1, names.IndexOf("b.example.org"));
        Assert.Null(names.IndexOf("c.example.org"));
        Assert.Equal(2, names.Count);
    }

    [Theory]
    [InlineData(0, "198.18.1.0", "fd68:7574:6368:1::")]
    [InlineData(5, "198.18.1.5", "fd68:7574:6368:1::5")]
    [InlineData(256, "198.18.2.0", "fd68:7574:6368:1::100")]
    [InlineData(65_535, "198.19.0.255", "fd68:7574:6368:1::ffff")]
    public void Addresses_FollowTheAddressPlan_AndMapBack(int index, string v4, string v6)
    {
        Assert.Equal(IPAddress.Parse(v4), SyntheticNames.V4(index));
        Assert.Equal(IPAddress.Parse(v6), SyntheticNames.V6(index));
        Assert.Equal(index, SyntheticNames.IndexOf(IPAddress.Parse(v4)));
        Assert.Equal(index, SyntheticNames.IndexOf(IPAddress.Parse(v6)));
        Assert.Equal(index, SyntheticNames.IndexOf(IPAddress.Parse(v4).MapToIPv6()));
    }

    [Theory]
    [InlineData("198.18.0.255")]       // below the first
    [InlineData("198.18.0.1")]         // the sandbox's own address
    [InlineData("198.19.1.0")]         // past the last
    [InlineData("93.184.215.14")]
    [InlineData("fd68:7574:6368::1")]
    [InlineData("fd68:7574:6368:1::1:0")]
    [InlineData("fd68:7574:6368:1:1::5")]
    public void OtherAddresses_AreNoSyntheticOnes(string address)
    {
        Assert.Null(SyntheticNames.IndexOf(IPAddress.Parse(address)));
        Assert.Null(new SyntheticNames().NameOf(IPAddress.Parse(address)));
    }

    [Fact]
    public void ReverseLookup_GivesTheNameOnlyForAddressesHandedOut()
    {
        var names = new SyntheticNames();
        names.Allocate("a.example.org");
        names.Allocate("b.example.org");

        Assert.Equal("b.example.org", names.NameOf(IPAddress.Parse("198.18.1.1")));
        Assert.Equal("b.example.org", names.NameOf(IPAddress.Parse("fd68:7574:6368:1::1")));
        Assert.Null(names.NameOf(IPAddress.Parse("198.18.1.2")));
    }

    [Fact]
    public void AFileRoundTrip_GivesTheSameAddresses_AndTheFileIs0600()
    {
        using (var names = SyntheticNames.Open(FilePath))
        {
            names.Allocate("a.example.org");
            names.Allocate("b.example.org");
        }
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(FilePath));
        Assert.Equal("0 a.example.org\n1 b.example.org\n", File.ReadAllText(FilePath));

        using var again = SyntheticNames.Open(FilePath);
        Assert.Equal("b.example.org", again.NameOf(IPAddress.Parse("198.18.1.1")));
        Assert.Equal(2, again.Allocate("c.example.org"));
        Assert.Equal(0, again.Allocate("a.example.org"));
    }

    [Fact]
    public void ATornLastLine_IsDropped_AndTheNextNameTakesItsPlace()
    {
        File.WriteAllText(FilePath, "0 a.example.org\n1 b.exa");
        using (var names = SyntheticNames.Open(FilePath))
        {
            Assert.Equal(1, names.Count);
            Assert.Equal(1, names.Allocate("c.example.org"));
        }
        Assert.Equal("0 a.example.org\n1 c.example.org\n", File.ReadAllText(FilePath));
    }

    [Fact]
    public void ABadLine_EndsTheMap_ThereAndThen()
    {
        File.WriteAllText(FilePath, "0 a.example.org\n2 skipped.example.org\n1 b.example.org\n");
        using var names = SyntheticNames.Open(FilePath);

        Assert.Equal(1, names.Count);
        Assert.Equal("0 a.example.org\n", File.ReadAllText(FilePath));
    }

    [Fact]
    public void PastTheLimit_NoIndexIsGiven_ButKnownNamesKeepTheirs()
    {
        var names = new SyntheticNames();
        for (var i = 0; i < SyntheticNames.MaxNames; i++)
        {
            Assert.Equal(i, names.Allocate($"n{i}.example.org"));
        }

        Assert.Null(names.Allocate("one-more.example.org"));
        Assert.Equal(65_535, names.Allocate("n65535.example.org"));
        Assert.Equal("n65535.example.org", names.NameOf(IPAddress.Parse("198.19.0.255")));
    }

    [Fact]
    public async Task ConcurrentAllocations_GiveEachNameOneIndex()
    {
        using var names = SyntheticNames.Open(FilePath);
        var got = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => Task.Run(() => (Name: $"n{i % 100}.org", Index: names.Allocate($"n{i % 100}.org")))));

        Assert.Equal(100, names.Count);
        Assert.All(got.GroupBy(g => g.Name), g => Assert.Single(g.Select(x => x.Index).Distinct()));
        Assert.Equal(100, File.ReadAllLines(FilePath).Length);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
