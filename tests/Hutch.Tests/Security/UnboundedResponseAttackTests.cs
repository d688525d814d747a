using System.Diagnostics;
using System.Net.Http.Headers;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// Security invariant 5 (limits) attacked through the files API's responses: a sandbox makes a file
/// of any apparent size for free (a sparse 1 TiB file), which an export or a download would stream
/// for hours. Each response is held to a cap and ends at once with a code that says what to do.
/// </summary>
[Collection(DaemonCollection.Name)]
public sealed class UnboundedResponseAttackTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task A1TiBSparseFile_IsRefusedAtOnce_ByExportAndDownload_NotStreamedForever()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("mkdir d && echo small > d/a.txt && truncate -s 1T d/huge && truncate -s 1T alone");
        var clock = Stopwatch.StartNew();

        var export = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExportAsync(sandbox.Id, "alone"));
        var download = await Assert.ThrowsAsync<HutchApiException>(() => Client.DownloadAsync(sandbox.Id, "alone"));
        var tooBig = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExportAsync(sandbox.Id, "d", maxBytes: 1L << 50));

        Assert.Equal((ErrorCodes.ArchiveTooLarge, 413), (export.Code, export.Status));
        Assert.Contains("maxBytes", export.Message);
        Assert.Equal((ErrorCodes.FileTooLarge, 413), (download.Code, download.Status));
        Assert.Contains("Range", download.Message);
        Assert.Equal((ErrorCodes.InvalidRequest, 400), (tooBig.Code, tooBig.Status));
        // A directory whose first member fits: the tar breaks off at the cap, without its end marker.
        await using (var tar = await Client.ExportAsync(sandbox.Id, "d"))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => tar.CopyToAsync(Stream.Null));
        }
        // A range of the big file is served, and only that.
        Assert.Equal(new byte[4096], await DownloadRangeAsync(sandbox.Id, "alone", 0, 4095));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task AnExport_StopsAtTheMaxBytesItAskedFor()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("head -c 100000 /dev/zero > big && echo a > a");

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ExportAsync(sandbox.Id, "big", maxBytes: 50_000));
        await using var small = await Client.ExportAsync(sandbox.Id, "a", maxBytes: 50_000);
        await small.CopyToAsync(Stream.Null);

        Assert.Equal((ErrorCodes.ArchiveTooLarge, 413), (e.Code, e.Status));
    }

    private async Task<byte[]> DownloadRangeAsync(string id, string path, long from, long to)
    {
        using var http = new HttpClient { BaseAddress = new Uri(fixture.Daemon.Url) };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/sandboxes/{id}/files/content?path={path}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.ApiKey);
        request.Headers.Range = new RangeHeaderValue(from, to);
        using var response = await http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.PartialContent, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }
}
