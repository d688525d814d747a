using Hutch.Protocol.Api;
using Hutch.Runtime.Oci;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Daemon;

/// <summary>
/// What an agent types first in a fresh sandbox, as the sandbox's user in /workspace, each in a sandbox
/// of its own. A program the host lacks must be missing inside too (the root is the host's /usr):
/// such a case then expects "not found" instead of its output, so it never passes by being skipped.
/// See docs/isolation.md#the-sandboxs-etc.
/// </summary>
[Collection(DaemonCollection.Name)]
public class EverydayCommandsTests(DaemonFixture fixture)
{
    [Theory]
    // Debian names these only through /etc/alternatives.
    [InlineData(null, "echo 1 2 | awk '{print $2}'", "2\n")]
    [InlineData(null, "which awk", "/usr/bin/awk\n")]
    [InlineData("/usr/bin/less", "echo paged | pager", "paged\n")]
    [InlineData("/usr/bin/gcc", "printf '#include <stdio.h>\\nint main(void){puts(\"hello\");return 0;}\\n' > h.c && cc -o h h.c && ./h", "hello\n")]
    [InlineData("/usr/bin/gcc", "printf 'int main(void){return 7;}\\n' > m.c && make -s m && ./m; echo $?", "7\n")]
    // The rest of an everyday session.
    [InlineData(null, "printf 'b\\na\\nb\\n' | sort | uniq -c | tr -s ' ' | sed 's/^ //'; printf x | sha256sum | cut -c1-8; basename /a/b.txt .txt", "1 a\n2 b\n2d711642\nb\n")]
    [InlineData(null, "printf 'one\\ntwo\\nthree\\n' | grep -n t | sed 's/:/=/' | awk -F= '{print $2 \"@\" $1}'", "two@2\nthree@3\n")]
    [InlineData(null, "mkdir -p d/e && touch d/e/f d/g && find d -type f | sort | xargs -n1 basename", "f\ng\n")]
    [InlineData(null, "mkdir t && echo hi > t/a && tar czf t.tgz t && rm -r t && gzip -t t.tgz && tar xzf t.tgz && cat t/a", "hi\n")]
    [InlineData("/usr/bin/git", "git init -q r && cd r && git config user.email a@example.com && git config user.name A && echo x > x && git add x && git commit -qm first && git log --format=%s", "first\n")]
    [InlineData("/usr/share/python-wheels", "python3 -m venv v && v/bin/python -c 'import sys; print(sys.prefix)'", "/workspace/v\n")]
    [InlineData("/usr/lib/python3/dist-packages/pip", "python3 -m pip --version | cut -d' ' -f1; python3 -m pip list --disable-pip-version-check | head -1 | cut -d' ' -f1", "pip\nPackage\n")]
    [InlineData("/usr/bin/node", "node -e 'console.log(6*7)'", "42\n")]
    [InlineData("/usr/bin/npm", "npm init -y >/dev/null && node -p \"require('./package.json').name\"", "workspace\n")]
    [InlineData(null, "locale charmap; printf '\\303\\251' | wc -m", "UTF-8\n1\n")]
    // Names that need /etc/services and /etc/protocols (Perl's sockets: "Bad protocol 'tcp'" without it).
    [InlineData(null, "getent services https; perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1, LocalAddr => q(127.0.0.1), Proto => q(tcp)) ? qq(listening\\n) : qq($@\\n)'", "https                 443/tcp\nlistening\n")]
    [InlineData("/usr/bin/openssl", "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=x -keyout k.pem -out c.pem 2>/dev/null && openssl x509 -in c.pem -noout -subject", "subject=CN = x\n")]
    public async Task AnEverydayCommand_Works(string? needsOnHost, string command, string expected)
    {
        await using var sandbox = await fixture.CreateAsync();

        var result = await sandbox.ShAsync(command, timeoutMs: 60_000);

        if (needsOnHost is null || Path.Exists(needsOnHost))
        {
            Assert.True(result.ExitCode == 0, $"`{command}` exited {result.ExitCode}: {result.Stderr}");
            Assert.Equal(expected, result.Stdout);
        }
        else
        {
            Assert.Contains("not found", result.Stderr);
        }
    }

    [Fact]
    public async Task NoProgramOnThePath_Dangles_WhenItResolvesIntoUsrOnTheHost()
    {
        await using var sandbox = await fixture.CreateAsync();

        var result = await sandbox.ShAsync("for l in /usr/bin/* /usr/sbin/*; do [ -L \"$l\" ] && [ ! -e \"$l\" ] && echo \"$l\"; done; true");

        var danglingInside = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // The only links allowed to dangle: those that leave /usr on the host (or dangle there too).
        var leaveUsrOnTheHost = danglingInside.Where(l => new FileInfo(l).ResolveLinkTarget(returnFinalTarget: true) is not { Exists: true } target
            || !target.FullName.StartsWith("/usr/", StringComparison.Ordinal));
        Assert.Equal(danglingInside, leaveUsrOnTheHost);
    }

    [Fact]
    public async Task TlsClients_FindTheHostsPublicCaStore_AtTheirDefaultPaths()
    {
        await using var sandbox = await fixture.CreateAsync();

        // OpenSSL's default cafile (/usr/lib/ssl/cert.pem → /etc/ssl/certs/ca-certificates.crt) and
        // capath; Python's default context; the bundle Debian's pip (and git's libcurl) are built with.
        var result = await sandbox.ShAsync(
            "sed -n '1,/END CERTIFICATE/p' /etc/ssl/certs/ca-certificates.crt > first.pem && openssl verify first.pem; " +
            "openssl verify -CApath /etc/ssl/certs -no-CAfile first.pem; " +
            "python3 -c 'import ssl; print(ssl.create_default_context().cert_store_stats()[\"x509_ca\"] > 0)'; " +
            "if [ -d /usr/lib/python3/dist-packages/pip ]; then python3 -c 'from pip._vendor import certifi; print(certifi.where())'; else echo no pip; fi");

        if (HostCaStore.Find() is null)
        {
            Assert.Contains("No such file", result.Stderr); // the host has none, so neither has the sandbox (docs/isolation.md)
            return;
        }
        var pip = Directory.Exists("/usr/lib/python3/dist-packages/pip") ? "/etc/ssl/certs/ca-certificates.crt" : "no pip";
        Assert.Equal($"first.pem: OK\nfirst.pem: OK\nTrue\n{pip}\n", result.Stdout);
    }
}
