using System.Buffers;
using System.Diagnostics;
using System.Text;
using Hutch.Protocol.Redaction;

// usage: Hutch.RedactionBench [GiB] [runs]
// Three kinds of output: log-like text, base64 text (every byte in the alphabet of half the forms)
// and random bytes; each pushed through a Redactor with 20 secrets and copied with none.
var gib = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1;
var runs = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
var total = (long)(gib * (1L << 30));
const int Chunk = 64 << 10;

var random = new Random(12);
var secrets = Enumerable.Range(0, 20)
    .Select(i => new RedactedSecret($"KEY_{i:D2}", Encoding.ASCII.GetBytes($"sk-{i:D2}-{Convert.ToHexStringLower(RandomBytes(random, 20))}")))
    .ToList();
var set = RedactionSet.Of(secrets);

var inputs = new Dictionary<string, byte[]>
{
    ["log text"] = LogText(random, 1 << 22),
    ["base64 text"] = Encoding.ASCII.GetBytes(Convert.ToBase64String(RandomBytes(random, 3 << 20))),
    ["random bytes"] = RandomBytes(random, 1 << 22),
};
Console.WriteLine($"redactor: {gib} GiB per run in {Chunk >> 10} KiB chunks, {secrets.Count} secrets ({set.Count} forms), {runs} runs, {Environment.ProcessorCount} cpu");
foreach (var (kind, input) in inputs)
{
    for (var run = 1; run <= runs; run++)
    {
        var copy = Measure(input, null);
        var redacted = Measure(input, set);
        Console.WriteLine($"{kind,-13} run {run}: copy {copy:F0} MB/s, redact {redacted:F0} MB/s, cost {100 * (1 - redacted / copy):F1} %");
    }
}

double Measure(byte[] input, RedactionSet? with)
{
    var output = new ArrayBufferWriter<byte>(Chunk * 2);
    var redactor = with is null ? null : new Redactor(with);
    var clock = Stopwatch.StartNew();
    for (long done = 0; done < total; done += Chunk)
    {
        var at = (int)(done % (input.Length - Chunk));
        var chunk = input.AsMemory(at, Chunk);
        // What the daemon does with an exec's output: a copy forwarded without secrets, Push with them.
        output.Write(redactor is null ? chunk.Span : redactor.Push(chunk).Span);
        output.ResetWrittenCount();
    }
    redactor?.Flush(output);
    return total / 1e6 / clock.Elapsed.TotalSeconds;
}

static byte[] RandomBytes(Random random, int length)
{
    var bytes = new byte[length];
    random.NextBytes(bytes);
    return bytes;
}

static byte[] LogText(Random random, int length)
{
    string[] words = ["GET", "/api/v1/items", "200", "took", "ms", "user", "INFO", "WARN", "request", "id", "done", "cache", "miss", "retry"];
    var text = new StringBuilder(length + 200);
    while (text.Length < length)
    {
        text.Append("2026-12-04T05:").Append(random.Next(10, 60)).Append(' ');
        for (var w = 0; w < 10; w++)
        {
            text.Append(words[random.Next(words.Length)]).Append(' ');
        }
        text.Append(random.Next(100000)).Append('\n');
    }
    return Encoding.ASCII.GetBytes(text.ToString(0, length));
}
