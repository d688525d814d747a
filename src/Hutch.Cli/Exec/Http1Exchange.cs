using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Hutch.Linux;
using Hutch.Linux.Interop;
using Microsoft.Win32.SafeHandles;

namespace Hutch.Cli.Exec;

/// <summary>
/// One HTTP/1.1 request and its response on a blocking socket of its own, read on the calling thread.
/// For `hutch exec`, which makes one request per process: HttpClient's handler, its connection pool
/// and the thread pool and socket engine threads its async I/O starts cost more than the daemon's
/// whole answer (docs/benchmarks.md, issue #10). The connection is not reused: it closes with the exchange.
/// The socket is Hutch.Linux's (<see cref="TcpSockets"/>), not a System.Net.Sockets.Socket, whose first
/// use starts the socket engine's thread even for blocking calls.
/// </summary>
internal sealed class Http1Exchange : IDisposable
{
    /// <summary>The longest status line, header line or chunk-size line taken: far above what Kestrel sends.</summary>
    private const int MostLine = 16 * 1024;

    private readonly SafeFileHandle _socket;
    private readonly byte[] _raw = new byte[MostLine + 1024];
    private int _start, _end;

    // The body: chunked, a Content-Length, or up to the close (HTTP/1.0 style).
    private bool _chunked;
    private long _left; // Content-Length bytes still to come, or the current chunk's; -1: to the close
    private bool _firstChunk = true;
    private bool _bodyDone;

    private Http1Exchange(SafeFileHandle socket) => _socket = socket;

    public int Status { get; private set; }

    public string Reason { get; private set; } = "";

    /// <summary>Retry-After's value as sent, or null.</summary>
    public string? RetryAfter { get; private set; }

    /// <summary>Connects (trying each address of the host in turn) and sends the request with its body; throws SocketException or IOException.</summary>
    public static Http1Exchange Send(Uri url, string method, string head, ReadOnlySpan<byte> body, TimeSpan connectTimeout)
    {
        var socket = Connect(url, connectTimeout);
        try
        {
            var exchange = new Http1Exchange(socket);
            var request = Encoding.ASCII.GetBytes(
                $"{method} {url.PathAndQuery} HTTP/1.1\r\nHost: {url.Authority}\r\n{head}Content-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}\r\n\r\n");
            // One write when the body is small: with Nagle's algorithm a second small write waits for
            // the daemon's delayed ACK (40 ms); TcpSockets sets TCP_NODELAY as well, as SocketsHttpHandler does.
            if (body.Length <= 64 * 1024)
            {
                SendAll(socket, [.. request, .. body]);
            }
            else
            {
                SendAll(socket, request);
                SendAll(socket, body);
            }
            exchange.ReadHead();
            return exchange;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static SafeFileHandle Connect(Uri url, TimeSpan timeout)
    {
        var addresses = IPAddress.TryParse(url.DnsSafeHost, out var literal) ? [literal] : Dns.GetHostAddresses(url.DnsSafeHost);
        Exception? last = null;
        foreach (var address in addresses)
        {
            try
            {
                return TcpSockets.Connect(new IPEndPoint(address, url.Port), timeout);
            }
            catch (LinuxException e)
            {
                last = ToSocketException(e);
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }

    /// <summary>A connect's errno as the SocketError HttpClient would report, so "no daemon answers" is told the same way.</summary>
    private static Exception ToSocketException(LinuxException e) => e.Errno switch
    {
        TcpSockets.ECONNREFUSED => new SocketException((int)SocketError.ConnectionRefused),
        TcpSockets.EHOSTUNREACH => new SocketException((int)SocketError.HostUnreachable),
        TcpSockets.ENETUNREACH => new SocketException((int)SocketError.NetworkUnreachable),
        TcpSockets.ETIMEDOUT => new SocketException((int)SocketError.TimedOut),
        _ => e,
    };

    private static void SendAll(SafeFileHandle socket, ReadOnlySpan<byte> bytes)
    {
        if (!UnixSockets.SendAll(socket, bytes))
        {
            throw new IOException("the daemon closed the connection before it read the request");
        }
    }

    /// <summary>Reads the status line and the headers; an informational (1xx) answer is skipped.</summary>
    private void ReadHead()
    {
        do
        {
            var status = ReadLine();
            // "HTTP/1.1 200 OK": the version, a three-digit code, a reason that may be empty.
            if (status.Length < 12 || !status.StartsWith("HTTP/1.", StringComparison.Ordinal) || status[8] != ' '
                || !int.TryParse(status.AsSpan(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var code))
            {
                throw new IOException($"the answer is not HTTP/1.1 ('{Printable(status)}')");
            }
            Status = code;
            Reason = status.Length > 13 ? status[13..] : "";
            _left = -1;
            _chunked = false;
            RetryAfter = null;
            for (var line = ReadLine(); line.Length > 0; line = ReadLine())
            {
                var colon = line.IndexOf(':');
                if (colon <= 0)
                {
                    throw new IOException($"the answer holds a header line that is not one ('{Printable(line)}')");
                }
                var name = line.AsSpan(0, colon);
                var value = line.AsSpan(colon + 1).Trim(" \t");
                if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
                {
                    // RFC 9112 §6.3: chunked as the last coding frames the body, whatever the Content-Length says.
                    _chunked = value.EndsWith("chunked", StringComparison.OrdinalIgnoreCase);
                }
                else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    _left = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                        ? length
                        : throw new IOException($"the answer's Content-Length is not a number ('{Printable(line)}')");
                }
                else if (name.Equals("Retry-After", StringComparison.OrdinalIgnoreCase))
                {
                    RetryAfter = value.ToString();
                }
            }
        }
        while (Status is >= 100 and < 200 and not 101);
        _bodyDone = !_chunked && _left == 0 || Status is 204 or 304;
        if (_chunked)
        {
            _left = 0;
        }
    }

    /// <summary>The next bytes of the body, de-chunked; 0 at its end.</summary>
    public int ReadBody(Span<byte> into)
    {
        if (_bodyDone || into.IsEmpty)
        {
            return 0;
        }
        if (_chunked && _left == 0)
        {
            if (!_firstChunk && ReadLine().Length != 0)
            {
                throw new IOException("the answer's chunk does not end where its size said");
            }
            _firstChunk = false;
            var size = ReadLine();
            var digits = size.AsSpan(0, size.IndexOf(';') is >= 0 and var semi ? semi : size.Length).Trim(" \t");
            if (!long.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out _left) || _left < 0)
            {
                throw new IOException($"the answer's chunk size is not one ('{Printable(size)}')");
            }
            if (_left == 0)
            {
                while (ReadLine().Length > 0)
                {
                    // Trailer fields: none are used.
                }
                _bodyDone = true;
                return 0;
            }
        }
        if (_start == _end && Fill() == 0)
        {
            if (_left < 0)
            {
                _bodyDone = true; // No length given: the body is what came before the close.
                return 0;
            }
            throw new IOException("the daemon closed the connection before the end of its answer");
        }
        var n = Math.Min(into.Length, _end - _start);
        if (_left >= 0)
        {
            n = (int)Math.Min(n, _left);
            _left -= n;
        }
        _raw.AsSpan(_start, n).CopyTo(into);
        _start += n;
        if (!_chunked && _left == 0)
        {
            _bodyDone = true;
        }
        return n;
    }

    /// <summary>A line of the head or of the chunk framing, without its CRLF (a bare LF is taken too).</summary>
    private string ReadLine()
    {
        var scanned = 0;
        while (true)
        {
            var newline = _raw.AsSpan(_start + scanned, _end - _start - scanned).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                var end = _start + scanned + newline;
                var line = Encoding.Latin1.GetString(_raw, _start, end - _start).TrimEnd('\r');
                _start = end + 1;
                return line;
            }
            scanned = _end - _start;
            if (scanned > MostLine)
            {
                throw new IOException($"the answer holds a line longer than {MostLine} bytes");
            }
            if (Fill() == 0)
            {
                throw new IOException("the daemon closed the connection in the middle of its answer");
            }
        }
    }

    /// <summary>Reads more from the socket after what is buffered; 0 at the close.</summary>
    private int Fill()
    {
        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_end == _raw.Length)
        {
            Buffer.BlockCopy(_raw, _start, _raw, 0, _end - _start);
            (_start, _end) = (0, _end - _start);
        }
        var n = Fds.Read(_socket, _raw.AsSpan(_end));
        _end += n;
        return n;
    }

    private static string Printable(string line) => line.Length > 80 ? line[..80] + "…" : line;

    public void Dispose() => _socket.Dispose();
}
