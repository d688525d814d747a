using Hutch.Client;

namespace Hutch.Tests.Infrastructure;

/// <summary>Small servers started inside a sandbox (python3 from the host's /usr), for the ports tests.</summary>
public static class SandboxServers
{
    // Echoes every byte back until the client half-closes, then says "bye" and closes: a client only
    // reads the "bye" if its end of stream reached the server while its own read side stayed open.
    private const string Echo = """
        import socket, sys, threading
        def serve(c):
            while chunk := c.recv(65536):
                c.sendall(chunk)
            c.sendall(b'bye\n'); c.close()
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(16)
        print('listening', flush=True)
        while True:
            c, _ = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
        """;

    /// <summary>Starts the TCP echo server on <paramref name="port"/> and returns once it listens.</summary>
    public static async Task StartEchoAsync(TestSandbox sandbox, HutchClient client, int port)
    {
        await client.WriteTextAsync(sandbox.Id, "echo-server.py", Echo);
        await sandbox.ShAsync($"python3 echo-server.py {port} > echo-{port}.log 2>&1 &");
        var waited = await sandbox.ShAsync($"for i in $(seq 100); do grep -q listening echo-{port}.log && exit 0; sleep 0.1; done; cat echo-{port}.log; exit 1", timeoutMs: 15_000);
        Assert.True(waited.ExitCode == 0, $"the echo server did not start: {waited.Stdout}");
    }

    /// <summary>Starts `python3 -u -m http.server` serving /workspace/site on <paramref name="port"/>, with one file in it.</summary>
    public static async Task StartHttpAsync(TestSandbox sandbox, HutchClient client, int port, string file, string content)
    {
        await client.WriteTextAsync(sandbox.Id, $"site/{file}", content);
        await sandbox.ShAsync($"cd site && python3 -u -m http.server {port} --bind 127.0.0.1 > ../http-{port}.log 2>&1 &");
        // http.server prints its banner once bound (-u: unbuffered, so it reaches the log at once).
        var waited = await sandbox.ShAsync($"for i in $(seq 100); do grep -q Serving http-{port}.log && exit 0; sleep 0.1; done; cat http-{port}.log; exit 1", timeoutMs: 15_000);
        Assert.True(waited.ExitCode == 0, $"http.server did not start: {waited.Stdout}");
    }
}
