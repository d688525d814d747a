using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Hutch.Daemon.Sessions;

/// <summary>
/// How one command is handed to a session's shell and how its end is found in the shell's output.
/// The command travels as octal escapes for printf, so no byte of it can be read by the shell as
/// part of the framing (an unclosed quote fails that command instead of swallowing the next), and
/// stdin is /dev/null so the command cannot read the lines meant for the shell. After it, the shell
/// prints a marker with a random nonce to stdout (with the exit status) and to stderr.
/// </summary>
internal sealed class SessionMarkers
{
    private const byte Separator = 0x1e; // ASCII record separator: never in ordinary output

    private SessionMarkers(string nonce)
    {
        Stdout = Encoding.ASCII.GetBytes($"\u001eHUTCH-{nonce}:");
        Stderr = Encoding.ASCII.GetBytes($"\u001eHUTCH-{nonce}\u001e");
    }

    /// <summary>Marker on stdout, followed by the decimal exit status and one separator.</summary>
    public byte[] Stdout { get; }

    /// <summary>Marker on stderr.</summary>
    public byte[] Stderr { get; }

    public static SessionMarkers New() => new(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)));

    /// <summary>The line written to the shell's stdin to run <paramref name="command"/>.</summary>
    public byte[] Script(string command)
    {
        var script = new StringBuilder("eval \"$(printf '");
        foreach (var b in Encoding.UTF8.GetBytes(command))
        {
            script.Append('\\').Append(Convert.ToString(b, 8).PadLeft(3, '0'));
        }
        var stdout = Escape(Stdout);
        var stderr = Escape(Stderr);
        script.Append(CultureInfo.InvariantCulture, $"')\" </dev/null; printf '{stdout}%d\\036' \"$?\"; printf '{stderr}' >&2\n");
        return Encoding.ASCII.GetBytes(script.ToString());
    }

    private static string Escape(byte[] marker) =>
        string.Concat(marker.Select(b => b == Separator ? "\\036" : ((char)b).ToString()));

    /// <summary>
    /// Collects one stream of a command's output up to its marker, keeping at most a cap of it in
    /// <paramref name="kept"/>. Only a possible marker start is ever held back, never a line.
    /// </summary>
    public sealed class Scanner(byte[] marker, long cap, bool withStatus, OutputBuffer kept)
    {
        private byte[] _pending = [];
        private List<byte>? _status;

        /// <summary>True once the marker (and the status after it, if any) has been seen.</summary>
        public bool Done { get; private set; }

        public bool Truncated { get; private set; }

        public int? Status { get; private set; }

        public OutputBuffer Output => kept;

        public void Feed(ReadOnlySpan<byte> data)
        {
            if (Done)
            {
                return;
            }
            if (_status is not null)
            {
                ReadStatus(data);
                return;
            }
            var pending = new byte[_pending.Length + data.Length];
            _pending.CopyTo(pending, 0);
            data.CopyTo(pending.AsSpan(_pending.Length));
            var at = pending.AsSpan().IndexOf(marker);
            if (at >= 0)
            {
                Keep(pending.AsSpan(0, at));
                _pending = [];
                if (!withStatus)
                {
                    Done = true;
                    return;
                }
                _status = [];
                ReadStatus(pending.AsSpan(at + marker.Length));
                return;
            }
            // Hold back what could be the start of a marker split across chunks.
            var hold = Math.Min(pending.Length, marker.Length - 1);
            Keep(pending.AsSpan(0, pending.Length - hold));
            _pending = pending[^hold..];
        }

        private void ReadStatus(ReadOnlySpan<byte> data)
        {
            var end = data.IndexOf(Separator);
            foreach (var b in end >= 0 ? data[..end] : data)
            {
                if (_status!.Count < 12)
                {
                    _status.Add(b);
                }
            }
            if (end >= 0)
            {
                Status = int.TryParse(Encoding.ASCII.GetString([.. _status!]), NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code : null;
                Done = true;
            }
        }

        private void Keep(ReadOnlySpan<byte> data)
        {
            var room = (int)Math.Min(data.Length, Math.Max(0, cap - kept.Length));
            kept.Write(data[..room]);
            if (room < data.Length)
            {
                Truncated = true;
            }
        }

        /// <summary>What was held back as a possible marker start, when the stream ended without one.</summary>
        public void Flush() => Keep(_pending);
    }
}
