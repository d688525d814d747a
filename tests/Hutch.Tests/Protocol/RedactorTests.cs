using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Hutch.Protocol.Redaction;

namespace Hutch.Tests.Protocol;

/// <summary>
/// The streaming redactor: every form of a value (raw, base64 at each alignment and in both
/// alphabets, percent-encoded, JSON-escaped) becomes [REDACTED:NAME], wherever the chunks split it,
/// and nothing else changes.
/// </summary>
public sealed class RedactorTests
{
    private const string Key = "sk-live-4f9a8b7c6d5e4f3a2b1c";
    private static readonly RedactionSet Set = RedactionSet.Of([new RedactedSecret("API_KEY", Encoding.UTF8.GetBytes(Key))]);

    private static string Redact(RedactionSet set, params string[] chunks)
    {
        var output = new ArrayBufferWriter<byte>();
        var redactor = new Redactor(set);
        foreach (var chunk in chunks)
        {
            redactor.Push(Encoding.UTF8.GetBytes(chunk), output);
        }
        redactor.Flush(output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain output\n")]
    [InlineData("Password: ")]
    [InlineData("sk-live is how keys start; 4f9a8b7 is seven bytes of one")]
    [InlineData("sk-live-4f9 is eleven bytes of it, one short of a piece")]
    public void OutputWithoutAValue_IsUnchanged(string text)
    {
        Assert.Equal(text, Redact(Set, text));
        Assert.Equal(text, Redactor.Redact(Set, text));
    }

    [Fact]
    public void TheValue_IsReplacedByItsName_AsOftenAsItAppears()
    {
        Assert.Equal("key=[REDACTED:API_KEY]\n[REDACTED:API_KEY][REDACTED:API_KEY]", Redact(Set, $"key={Key}\n{Key}{Key}"));
    }

    [Theory]
    [InlineData("sk-live-4f9a8b7c6d5e4f3a2b1 is one byte short", "[REDACTED:API_KEY] is one byte short")]
    [InlineData("first half sk-live-4f9a8 / second half 8b7c6d5e4f3a2b1c.", "first half [REDACTED:API_KEY] / second half [REDACTED:API_KEY].")]
    [InlineData("ends in 4f3a2b1c, not a piece: 2b1c", "ends in 4f3a2b1c, not a piece: 2b1c")]
    [InlineData("ends in 5e4f3a2b1c and 6d5e4f3a2b1c.", "ends in 5e4f3a2b1c and [REDACTED:API_KEY].")]
    public void AnyPieceOf12BytesOfTheValue_IsCaughtToo(string text, string expected)
    {
        Assert.Equal(expected, Redact(Set, text));
        Assert.Equal(expected, Redact(Set, [.. text.Select(c => c.ToString())]));
    }

    [Fact]
    public void AValueSplitAtEveryByte_IsStillCaught()
    {
        var text = $"before {Key} after\n";
        var oneByteChunks = text.Select(c => c.ToString()).ToArray();

        Assert.Equal("before [REDACTED:API_KEY] after\n", Redact(Set, oneByteChunks));
        for (var split = 0; split <= text.Length; split++)
        {
            Assert.Equal("before [REDACTED:API_KEY] after\n", Redact(Set, text[..split], text[split..]));
        }
    }

    [Fact]
    public void WhatCannotBecomeAValue_GoesOutAtOnce_AndOnlyAPossibleStartIsHeld()
    {
        var output = new ArrayBufferWriter<byte>();
        var redactor = new Redactor(Set);

        redactor.Push("Password: \n"u8, output);
        Assert.Equal(("Password: \n", 0), (Encoding.UTF8.GetString(output.WrittenSpan), redactor.Held));
        redactor.Push("token sk-li"u8, output);
        Assert.Equal(("Password: \ntoken ", 5), (Encoding.UTF8.GetString(output.WrittenSpan), redactor.Held));
        redactor.Push("ght\n"u8, output); // not the key after all: released
        Assert.Equal(("Password: \ntoken sk-light\n", 0), (Encoding.UTF8.GetString(output.WrittenSpan), redactor.Held));
    }

    [Fact]
    public void AtTheEnd_ALongPieceOfTheValue_IsReplaced_AndAShortOneReleased()
    {
        Assert.Equal("cut: [REDACTED:API_KEY]", Redact(Set, "cut: ", Key[..12]));
        Assert.Equal("cut: [REDACTED:API_KEY]", Redact(Set, "cut: ", Key[8..22]));
        Assert.Equal($"cut: {Key[8..18]}", Redact(Set, "cut: ", Key[8..18]));
        Assert.Equal("cut: sk-li", Redact(Set, "cut: ", "sk-li"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("xy")]
    [InlineData("prefix: ")]
    public void Base64OfTheValue_AtAnyAlignment_InBothAlphabets_IsCaught(string before)
    {
        // Bytes chosen so that the standard and URL alphabets differ (+ and / in the encoding).
        var value = new byte[] { 0xfb, 0xff, 0xbf, 0x3e, 0x10, 0xfa, 0xfb, 0xef, 0xbe, 0x01, 0x02, 0x03 };
        var set = RedactionSet.Of([new RedactedSecret("BIN", value)]);
        var bytes = Encoding.ASCII.GetBytes(before).Concat(value).Concat("\n"u8.ToArray()).ToArray();
        var standard = Convert.ToBase64String(bytes);
        var url = standard.Replace('+', '-').Replace('/', '_');

        foreach (var encoded in new[] { standard, url })
        {
            var redacted = Redact(set, encoded);
            Assert.Contains("[REDACTED:BIN]", redacted, StringComparison.Ordinal);
            // What is left are the characters that also carry the bytes around the value: at most 3 before, 3 after.
            Assert.InRange(redacted.Length - "[REDACTED:BIN]".Length, 0, 6 + (before.Length * 4 / 3) + 1);
        }
        Assert.Contains("+", standard, StringComparison.Ordinal);
    }

    [Fact]
    public void Base64OfAnEchoedValue_AsTheShellMakesIt_IsCaught()
    {
        var echoed = Convert.ToBase64String(Encoding.UTF8.GetBytes(Key + "\n")) + "\n";

        // 28 bytes of key: its first 37 base64 characters (8 × 28 / 6) are the key's alone; the rest also carry the newline.
        Assert.Equal("[REDACTED:API_KEY]" + echoed[37..], Redact(Set, echoed[..7], echoed[7..]));
    }

    [Fact]
    public void UrlAndJsonForms_AreCaught()
    {
        const string Value = "p@ss/w0rd \"q\"\\n\tend";
        var set = RedactionSet.Of([new RedactedSecret("DB_PASSWORD", Encoding.UTF8.GetBytes(Value))]);

        var inUrl = $"https://db.example/?password={Uri.EscapeDataString(Value)}&x=1";
        var lowerHex = $"?p={WebUtility.UrlEncode(Value).Replace("+", "%20", StringComparison.Ordinal).ToLowerInvariant()}";
        var inJson = JsonSerializer.Serialize(new { password = Value }, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

        Assert.Equal("https://db.example/?password=[REDACTED:DB_PASSWORD]&x=1", Redact(set, inUrl));
        Assert.Equal("?p=[REDACTED:DB_PASSWORD]", Redact(set, lowerHex));
        Assert.Equal("{\"password\":\"[REDACTED:DB_PASSWORD]\"}", Redact(set, inJson));
    }

    [Fact]
    public void ManySecrets_EachIsReplacedByItsOwnName()
    {
        var secrets = Enumerable.Range(0, 20).Select(i => new RedactedSecret($"KEY_{i}", Encoding.UTF8.GetBytes($"value-{i:D2}-{Guid.NewGuid():N}"))).ToList();
        var set = RedactionSet.Of(secrets);
        var text = string.Join(" | ", secrets.Select(s => Encoding.UTF8.GetString(s.Value)));

        Assert.Equal(string.Join(" | ", secrets.Select(s => $"[REDACTED:{s.Name}]")), Redact(set, text));
    }

    [Fact]
    public void ASecretInsideALongerOne_SplitAtTheBoundary_LeavesNothingOfEither()
    {
        var set = RedactionSet.Of([new RedactedSecret("LONG", "abcdefgh12345678"u8.ToArray()), new RedactedSecret("SHORT", "12345678"u8.ToArray())]);

        Assert.Equal("[REDACTED:LONG]", Redact(set, "abcdefgh12345678"));
        Assert.Equal("[REDACTED:LONG]", Redact(set, "abcdefgh123", "45678"));
        Assert.Equal("x [REDACTED:SHORT] y", Redact(set, "x 1234", "5678 y"));
    }

    [Fact]
    public void RandomBytes_WithoutTheValue_PassThroughByteForByte()
    {
        var random = new Random(7);
        var data = new byte[1 << 20];
        random.NextBytes(data);
        var output = new ArrayBufferWriter<byte>();
        var redactor = new Redactor(Set);

        for (var at = 0; at < data.Length;)
        {
            var n = Math.Min(random.Next(1, 70_000), data.Length - at);
            redactor.Push(data.AsSpan(at, n), output);
            at += n;
        }
        redactor.Flush(output);

        Assert.True(output.WrittenSpan.SequenceEqual(data));
    }

    [Fact]
    public void RandomChunking_OfOutputHoldingValues_AlwaysGivesTheSameResult()
    {
        var random = new Random(11);
        var text = string.Concat(Enumerable.Range(0, 200).Select(i => i % 7 == 0 ? Key : i % 11 == 0 ? Convert.ToBase64String(Encoding.UTF8.GetBytes(Key)) : $"line {i} sk-l\n"));
        var whole = Redact(Set, text);

        for (var round = 0; round < 50; round++)
        {
            var chunks = new List<string>();
            for (var at = 0; at < text.Length;)
            {
                var n = Math.Min(random.Next(1, 40), text.Length - at);
                chunks.Add(text.Substring(at, n));
                at += n;
            }
            Assert.Equal(whole, Redact(Set, [.. chunks]));
        }
        Assert.DoesNotContain(Key, whole, StringComparison.Ordinal);
    }

    [Fact]
    public void ValuesShorterThan8Bytes_CannotBeRedacted()
    {
        Assert.Throws<ArgumentException>(() => RedactionSet.Of([new RedactedSecret("PIN", "1234567"u8.ToArray())]));
    }

    [Fact]
    public void AnEmptySet_PassesEverythingOn()
    {
        Assert.Equal(Key, Redact(RedactionSet.Empty, Key));
    }

    [Fact]
    public void InBulkOutput_AValueCutInItsFirstThreeBytes_ShowsOnlyThoseBeforeItsMarker()
    {
        var filler = new string('.', RedactionSet.BulkChunk);
        var shortSet = RedactionSet.Of([new RedactedSecret("SHORT", "pw-9f8e7d"u8.ToArray())]); // 9 bytes: a cut leaves less than a run

        for (var cut = 1; cut <= 3; cut++)
        {
            Assert.Equal($"{filler}{Key[..cut]}[REDACTED:API_KEY]\n", Redact(Set, filler + Key[..cut], Key[cut..] + "\n"));
            Assert.Equal("ab[REDACTED:API_KEY]\n", Redact(Set, "ab" + Key[..cut], Key[cut..] + "\n")); // a short chunk is held
            Assert.Equal($"{filler}[REDACTED:SHORT]\n", Redact(shortSet, filler + "pw-9f8e7d"[..cut], "pw-9f8e7d"[cut..] + "\n"));
        }
        Assert.Equal($"{filler}[REDACTED:API_KEY]\n", Redact(Set, filler + Key[..4], Key[4..] + "\n")); // 4 bytes: a gram, held
    }

    [Fact]
    public void Push_GivesOutASliceOfTheChunkItself_UnlessItReplacesOrJoinsAHeldEnd()
    {
        var redactor = new Redactor(Set);
        ReadOnlyMemory<byte> clean = Encoding.UTF8.GetBytes("2026-12-04 info request served in 3 ms\n");
        ReadOnlyMemory<byte> withKey = Encoding.UTF8.GetBytes($"token={Key}\n");
        ReadOnlyMemory<byte> endsInStart = Encoding.UTF8.GetBytes("token=" + Key[..6]);

        var cleanOut = redactor.Push(clean);
        var keyOut = redactor.Push(withKey);
        var startOut = redactor.Push(endsInStart);
        var afterHold = redactor.Push(clean);

        Assert.True(cleanOut.Span == clean.Span, "a clean chunk goes out as itself");
        Assert.Equal($"token=[REDACTED:API_KEY]\n", Encoding.UTF8.GetString(keyOut.Span));
        Assert.True(startOut.Span == endsInStart.Span[..6], "what may start a form is held, the rest is a slice of the chunk");
        Assert.Equal(Key[..6] + "2026-12-04 info request served in 3 ms\n", Encoding.UTF8.GetString(afterHold.Span));
        Assert.False(afterHold.Span.Overlaps(clean.Span), "after a held end the two are joined into a new buffer");
    }
}
