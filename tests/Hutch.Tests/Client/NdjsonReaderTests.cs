using System.IO.Pipelines;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;

namespace Hutch.Tests.Client;

[Trait("Category", "Unit")]
public class NdjsonReaderTests
{
    [Fact]
    public async Task LinesThatArrivedTogether_AreHandedOverWithoutWaitingForMoreBytes()
    {
        var pipe = new Pipe();
        await using var reader = new NdjsonReader<LogEvent>(pipe.Reader.AsStream(), HutchClient.Json.LogEvent);
        // Two events in one write, and the stream stays open (a live follow): both must come out now.
        await pipe.Writer.WriteAsync(Encoding.UTF8.GetBytes("{\"type\":\"stdout\",\"cursor\":1}\n{\"type\":\"stderr\",\"cursor\":2}\n"));

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var first = await reader.ReadAsync(timeout.Token);
        var second = await reader.ReadAsync(timeout.Token);

        Assert.Equal((LogEventTypes.Stdout, 1L), (first!.Type, first.Cursor));
        Assert.Equal((LogEventTypes.Stderr, 2L), (second!.Type, second.Cursor));
        await pipe.Writer.CompleteAsync();
        Assert.Null(await reader.ReadAsync(timeout.Token));
    }
}
