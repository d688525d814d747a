using Hutch.Protocol.Api;
using Hutch.Tests.Infrastructure;

namespace Hutch.Tests.Security;

/// <summary>
/// Invariant 2 and 3: a network namespace does not cover every socket family (AF_VSOCK reaches the
/// hypervisor and the host's vsock port space), so a sandbox may open only AF_UNIX, AF_INET,
/// AF_INET6 and route netlink; every other family is refused, also through the 32-bit entry points.
/// </summary>
[Collection(DaemonCollection.Name)]
public class SocketFamilyAttackTests(DaemonFixture fixture)
{
    // Tries every family below 64 with stream, datagram, raw and seqpacket sockets; prints each family
    // that opened anything, and each errno a refused family answered with.
    private const string EveryFamily = """
        import socket, errno
        opened, refusals = set(), set()
        for family in range(64):
            for kind in (1, 2, 3, 5):
                try:
                    socket.socket(family, kind, 0).close()
                    opened.add(family)
                except OSError as e:
                    if family not in (1, 2, 10, 16):
                        refusals.add(errno.errorcode.get(e.errno, str(e.errno)))
        print("opened", sorted(opened))
        print("refused with", sorted(refusals))
        netlink = []
        for protocol in range(32):
            try:
                socket.socket(16, 2, protocol).close()
                netlink.append(protocol)
            except OSError:
                pass
        print("netlink", netlink)
        """;

    // int 0x80 from a 64-bit process runs the i386 system call table, which seccomp filters as
    // another architecture: socketcall(SYS_SOCKET) hides its arguments in memory, socket (359) does not.
    private const string ThroughI386Entry = """
        import ctypes, struct, errno
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        page = libc.mmap(None, 4096, 7, 0x22 | 0x40, -1, 0)  # rwx, private anonymous, MAP_32BIT
        def call32(nr, ebx, ecx, edx):
            # push rbx; mov eax, nr; mov ebx; mov ecx; mov edx; int 0x80; pop rbx; ret
            code = b"\x53\xb8" + struct.pack("<I", nr) + b"\xbb" + struct.pack("<I", ebx) + b"\xb9" + struct.pack("<I", ecx) \
                + b"\xba" + struct.pack("<I", edx) + b"\xcd\x80\x5b\xc3"
            ctypes.memmove(page, code, len(code))
            r = ctypes.CFUNCTYPE(ctypes.c_int)(page)()
            return "opened" if r >= 0 else errno.errorcode.get(-r, str(-r))
        args = page + 2048
        ctypes.memmove(args, struct.pack("<III", 40, 1, 0), 12)
        print("socketcall vsock", call32(102, 1, args, 0))
        print("socket vsock", call32(359, 40, 1, 0))
        print("socket packet", call32(359, 17, 2, 0))
        print("socket unix", call32(359, 1, 1, 0))
        """;

    [Theory]
    [InlineData("user")]
    [InlineData("root")]
    public async Task EverySocketFamilyButUnixInetAndRouteNetlink_IsRefused(string user)
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: user));
        var result = await sandbox.PythonAsync(EveryFamily);

        Assert.Equal("opened [1, 2, 10, 16]\nrefused with ['EAFNOSUPPORT']\nnetlink [0]\n", result.Stdout + result.Stderr);
    }

    [Fact]
    public async Task VsockThroughThe32BitSystemCallEntry_IsRefused()
    {
        await using var sandbox = await fixture.CreateAsync(new CreateSandboxRequest(User: "root"));
        var result = await sandbox.PythonAsync(ThroughI386Entry);

        if (HostHasI386Entry())
        {
            Assert.Equal(
                "socketcall vsock EAFNOSUPPORT\nsocket vsock EAFNOSUPPORT\nsocket packet EAFNOSUPPORT\nsocket unix opened\n",
                result.Stdout + result.Stderr);
        }
        else
        {
            // A kernel without IA32 emulation has no i386 entry at all: int 0x80 kills the caller, in a sandbox as on the host.
            Assert.True(result.Signal == "SIGSEGV" && result.Stdout.Length == 0, $"exit {result.ExitCode} {result.Signal}: {result.Stdout}{result.Stderr}");
        }
    }

    /// <summary>Whether this host's kernel runs int 0x80 from a 64-bit process (IA32 emulation), tried outside any sandbox.</summary>
    private static bool HostHasI386Entry()
    {
        const string GetPid = """
            import ctypes, struct
            libc = ctypes.CDLL(None)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
            page = libc.mmap(None, 4096, 7, 0x22 | 0x40, -1, 0)
            code = b"\x53\xb8" + struct.pack("<I", 20) + b"\xcd\x80\x5b\xc3"  # push rbx; mov eax, 20 (getpid); int 0x80; pop rbx; ret
            ctypes.memmove(page, code, len(code))
            print(ctypes.CFUNCTYPE(ctypes.c_int)(page)())
            """;
        using var python = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("python3", ["-c", GetPid]) { RedirectStandardOutput = true })!;
        var printed = python.StandardOutput.ReadToEnd();
        python.WaitForExit();
        return python.ExitCode == 0 && printed.Trim() == python.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
