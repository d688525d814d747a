using System.Security.Cryptography;
using System.Text;
using Hutch.Client;
using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>The files API end to end: real daemon, real sandbox, what the API writes seen from inside and back.</summary>
[Collection(DaemonCollection.Name)]
public class FilesTests(DaemonFixture fixture)
{
    private HutchClient Client => fixture.Client;

    [Fact]
    public async Task ThreeSpellingsOfAPath_AreTheSameFile_OwnedByTheSandboxUser()
    {
        await using var sandbox = await fixture.CreateAsync();

        var written = await Client.WriteTextAsync(sandbox.Id, "src/a.py", "print('hi')\n", mode: "0755");

        Assert.Equal("src/a.py", written.Path);
        Assert.Equal("0755", written.Mode);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("print('hi')\n"u8)), written.Sha256);
        Assert.Equal("print('hi')\n", await Client.ReadTextAsync(sandbox.Id, "/src/a.py"));
        Assert.Equal("print('hi')\n", await Client.ReadTextAsync(sandbox.Id, "/workspace/src/a.py"));
        var inside = await sandbox.ShAsync("stat -c '%u:%g %a' src src/a.py && cat /workspace/src/a.py && echo more >> src/a.py");
        Assert.Equal("1000:1000 755\n1000:1000 755\nprint('hi')\n", inside.Stdout);
        Assert.Equal("print('hi')\nmore\n", await Client.ReadTextAsync(sandbox.Id, "src/a.py"));
    }

    [Fact]
    public async Task BinaryContent_RoundTripsByteForByte_ThroughJsonAndStreams()
    {
        await using var sandbox = await fixture.CreateAsync();
        var bytes = RandomNumberGenerator.GetBytes(3 << 20);

        await Client.WriteBytesAsync(sandbox.Id, "bin/json.dat", bytes);
        await Client.UploadAsync(sandbox.Id, "bin/stream.dat", new MemoryStream(bytes));

        Assert.Equal(bytes, await Client.ReadBytesAsync(sandbox.Id, "bin/json.dat"));
        await using var download = await Client.DownloadAsync(sandbox.Id, "bin/stream.dat");
        var copy = new MemoryStream();
        await download.CopyToAsync(copy);
        Assert.Equal(bytes, copy.ToArray());
        var inside = await sandbox.ShAsync("sha256sum bin/json.dat bin/stream.dat | cut -d' ' -f1 | uniq");
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)) + "\n", inside.Stdout);
        var notText = await Client.ReadFileAsync(sandbox.Id, "bin/json.dat", length: 16);
        Assert.Equal("base64", notText.Encoding);
        Assert.Equal(bytes[..16], Convert.FromBase64String(notText.Content));
    }

    [Fact]
    public async Task Read_ARange_ReportsTheWholeSize_AndTooMuchIsRefusedWithAWayOut()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("printf 0123456789 > digits");

        var range = await Client.ReadFileAsync(sandbox.Id, "digits", offset: 3, length: 4);
        Assert.Equal(("3456", 10L, 3L, 4L), (range.Content, range.Size, range.Offset, range.Length));

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ReadFileAsync(sandbox.Id, "digits", maxBytes: 5));
        Assert.Equal((ErrorCodes.FileTooLarge, 413), (e.Code, e.Status));
        Assert.Contains("offset and length", e.Message);
    }

    [Fact]
    public async Task List_DescribesEveryKindOfEntry_RecursivelyAndWithoutHiddenOnes()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("mkdir -p a/b .git && echo x > a/b/f && ln -s b/f a/link && mkfifo a/pipe && echo h > .git/HEAD && chmod 600 a/b/f");

        var all = await Client.ListFilesAsync(sandbox.Id, "", recursive: true);
        Assert.Equal(["", ".git", ".git/HEAD", "a", "a/b", "a/b/f", "a/link", "a/pipe"], ["", .. all.Entries.Select(e => e.Path)]);
        var byPath = all.Entries.ToDictionary(e => e.Path);
        Assert.Equal((FileTypes.File, 2L, "0600"), (byPath["a/b/f"].Type, byPath["a/b/f"].Size, byPath["a/b/f"].Mode));
        Assert.Equal((FileTypes.Symlink, "b/f"), (byPath["a/link"].Type, byPath["a/link"].Target));
        Assert.Equal(FileTypes.Other, byPath["a/pipe"].Type);
        Assert.Equal(FileTypes.Directory, byPath["a/b"].Type);

        var visible = await Client.ListFilesAsync(sandbox.Id, "/workspace", recursive: true, hidden: false);
        Assert.DoesNotContain(visible.Entries, e => e.Path.StartsWith(".git", StringComparison.Ordinal));
        var shallow = await Client.ListFilesAsync(sandbox.Id, "a");
        Assert.Equal(["a/b", "a/link", "a/pipe"], shallow.Entries.Select(e => e.Path));
    }

    [Fact]
    public async Task MkdirMoveAndDelete_BehaveLikeTheShell_AndRefuseWhatWouldLoseData()
    {
        await using var sandbox = await fixture.CreateAsync();
        await Client.MakeDirectoryAsync(sandbox.Id, "x/y/z");
        await Client.WriteTextAsync(sandbox.Id, "x/y/z/f.txt", "f");
        await Client.WriteTextAsync(sandbox.Id, "other.txt", "o");

        var notEmpty = await Assert.ThrowsAsync<HutchApiException>(() => Client.DeleteFileAsync(sandbox.Id, "x"));
        Assert.Equal((ErrorCodes.DirectoryNotEmpty, 409), (notEmpty.Code, notEmpty.Status));
        var exists = await Assert.ThrowsAsync<HutchApiException>(() => Client.MoveAsync(sandbox.Id, "other.txt", "x/y/z/f.txt"));
        Assert.Equal(ErrorCodes.PathExists, exists.Code);
        var noParents = await Assert.ThrowsAsync<HutchApiException>(() => Client.MakeDirectoryAsync(sandbox.Id, "p/q", parents: false));
        Assert.Equal(ErrorCodes.PathNotFound, noParents.Code);

        await Client.MoveAsync(sandbox.Id, "x/y", "moved");
        Assert.Equal("f", await Client.ReadTextAsync(sandbox.Id, "moved/z/f.txt"));
        await Client.DeleteFileAsync(sandbox.Id, "moved", recursive: true);
        var gone = await Assert.ThrowsAsync<HutchApiException>(() => Client.StatAsync(sandbox.Id, "moved"));
        Assert.Equal((ErrorCodes.PathNotFound, 404), (gone.Code, gone.Status));
        Assert.Equal("x\nother.txt\n", (await sandbox.ShAsync("ls -1 -r")).Stdout);
    }

    [Theory]
    [InlineData("line\nbreak.txt")]
    [InlineData("ünïcødé/日本語/файл 🦔.txt")]
    [InlineData("spaces and 'quotes' and \"double\" and $(x).txt")]
    public async Task UnusualNames_RoundTripAndAreSeenInside(string name)
    {
        await using var sandbox = await fixture.CreateAsync();

        await Client.WriteTextAsync(sandbox.Id, name, "content");

        Assert.Equal("content", await Client.ReadTextAsync(sandbox.Id, name));
        Assert.Contains((await Client.ListFilesAsync(sandbox.Id, "", recursive: true)).Entries, e => e.Path == name);
        var inside = await Client.ExecAsync(sandbox.Id, new ExecRequest(Argv: ["cat", "--", name]));
        Assert.Equal("content", inside.Stdout);
    }

    [Fact]
    public async Task VeryLongNames_WorkUpToTheLimit_AndBeyondItAreRefusedClearly()
    {
        await using var sandbox = await fixture.CreateAsync();
        var longest = new string('n', 255);
        var deep = string.Join('/', Enumerable.Repeat(new string('d', 100), 30)) + "/f";

        await Client.WriteTextAsync(sandbox.Id, longest, "ok");
        await Client.WriteTextAsync(sandbox.Id, deep, "deep");
        Assert.Equal("ok", await Client.ReadTextAsync(sandbox.Id, longest));
        Assert.Equal("deep", await Client.ReadTextAsync(sandbox.Id, deep));

        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.WriteTextAsync(sandbox.Id, longest + "n", "no"));
        Assert.Equal((ErrorCodes.NameTooLong, 400), (e.Code, e.Status));
    }

    [Fact]
    public async Task AFifo_IsRefusedAtOnce_NotReadForever()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("mkfifo pipe");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var e = await Assert.ThrowsAsync<HutchApiException>(() => Client.ReadFileAsync(sandbox.Id, "pipe", cancellationToken: timeout.Token));
        Assert.Equal(ErrorCodes.NotAFile, e.Code);
        var download = await Assert.ThrowsAsync<HutchApiException>(() => Client.DownloadAsync(sandbox.Id, "pipe", timeout.Token));
        Assert.Equal(ErrorCodes.NotAFile, download.Code);
    }

    [Fact]
    public async Task HundredThousandFiles_AreListedRecursively()
    {
        await using var sandbox = await fixture.CreateAsync();
        var made = await sandbox.ShAsync("mkdir many && cd many && for d in $(seq 0 99); do mkdir $d; (cd $d && seq -f f%g 1 1000 | xargs touch); done && find . -type f | wc -l", timeoutMs: 120_000);
        Assert.Equal("100000\n", made.Stdout);

        var list = await Client.ListFilesAsync(sandbox.Id, "many", recursive: true);

        Assert.False(list.Truncated);
        Assert.Equal(100_100, list.Entries.Count);
        Assert.Equal(100_000, list.Entries.Count(e => e.Type == FileTypes.File));
    }

    [Fact]
    public async Task ATreeDeeperThanAnyWalk_IsListedAsTruncated_RefusedByCheckpoints_AndTheDaemonLivesOn()
    {
        await using var sandbox = await fixture.CreateAsync();
        await sandbox.ShAsync("python3 -c \"import os\nfor i in range(5000):\n    os.mkdir('d'); os.chdir('d')\"");

        var list = await Client.ListFilesAsync(sandbox.Id, "", recursive: true);
        var checkpoint = await Assert.ThrowsAsync<HutchApiException>(() => Client.CreateCheckpointAsync(sandbox.Id, "deep"));

        Assert.True(list.Truncated);
        Assert.Equal(ErrorCodes.NameTooLong, checkpoint.Code);
        Assert.Equal("ok\n", (await sandbox.ShAsync("echo ok")).Stdout);
        Assert.Empty(await Client.ListCheckpointsAsync(sandbox.Id));
    }

    [Fact]
    public async Task A1GiBFile_UploadsAndDownloadsAsAStream_ByteForByte()
    {
        await using var sandbox = await fixture.CreateAsync();
        const long size = 1L << 30;
        using var expected = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        var written = await Client.UploadAsync(sandbox.Id, "big.bin", new PatternStream(size, expected), hash: true);
        var sent = Convert.ToHexStringLower(expected.GetHashAndReset());

        Assert.Equal((size, sent), (written.Size, written.Sha256));
        await using var download = await Client.DownloadAsync(sandbox.Id, "big.bin");
        Assert.Equal(sent, Convert.ToHexStringLower(await SHA256.HashDataAsync(download)));
        Assert.Equal($"{size}\n", (await sandbox.ShAsync("stat -c %s big.bin")).Stdout);
        await Client.DeleteFileAsync(sandbox.Id, "big.bin");
    }

    /// <summary>A long, non-repeating-looking stream made on the fly (never held in memory), hashed as it is read.</summary>
    private sealed class PatternStream(long length, IncrementalHash hash) : Stream
    {
        private long _position;
        private ulong _state = 0x9E3779B97F4A7C15;

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            var span = buffer.AsSpan(offset, n);
            for (var i = 0; i + 8 <= span.Length; i += 8)
            {
                _state ^= _state << 13;
                _state ^= _state >> 7;
                _state ^= _state << 17;
                BitConverter.TryWriteBytes(span[i..], _state);
            }
            span[(span.Length & ~7)..].Fill(0x5a);
            hash.AppendData(span);
            _position += n;
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
