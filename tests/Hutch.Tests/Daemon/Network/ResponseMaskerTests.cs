using System.Buffers;
using System.Text;
using Hutch.Daemon.Network.Interception;

namespace Hutch.Tests.Daemon.Network;

/// <summary>What a secret's host sends back: values masked at the same length, even split across reads, and nothing else held.</summary>
public sealed class ResponseMaskerTests
{
    private const string Value = "sk-abcdefghijklmnopqrstuvwxyz0123";
    private const string Placeholder = "hutchph_0123456789abcdefghijklmnopqrstuv";

    private static ResponseMasker Masker() => new(new SubstitutionTable([new Substitution("K", Placeholder, Encoding.ASCII.GetBytes(Value))]));

    private static string Push(ResponseMasker masker, string chunk)
    {
        var output = new ArrayBufferWriter<byte>();
        masker.Push(Encoding.ASCII.GetBytes(chunk), output);
        return Encoding.ASCII.GetString(output.WrittenSpan);
    }

    [Fact]
    public void AnOrdinaryAnswer_GoesOutWhole_AndAnEchoedValueIsMaskedAtItsLength()
    {
        var masker = Masker();

        var plain = Push(masker, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
        var echoed = Push(masker, $"key={Value};");

        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n", plain);
        Assert.Equal($"key={Placeholder[..Value.Length]};", echoed);
        Assert.Equal((0, 1), (masker.Held, masker.Masked));
    }

    [Fact]
    public void AValueSplitAcrossReads_IsHeldOnlyFromItsStart_ThenMasked()
    {
        var masker = Masker();

        var first = Push(masker, "key=sk-abcdef");
        var held = masker.Held;
        var second = Push(masker, "ghijklmnopqrstuvwxyz0123!");

        Assert.Equal(("key=", 9), (first, held));
        Assert.Equal(Placeholder[..Value.Length] + "!", second);
    }

    [Fact]
    public void WhatLooksLikeAStart_IsReleasedAsItIs()
    {
        var masker = Masker();
        var first = Push(masker, "ends with sk");
        var output = new ArrayBufferWriter<byte>();

        masker.Release(output);

        Assert.Equal("ends with ", first);
        Assert.Equal("sk", Encoding.ASCII.GetString(output.WrittenSpan));
    }
}
