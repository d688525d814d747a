#!/usr/bin/env python3
"""The upstream of bench/egress.sh, run inside its own network namespace.

  :8080  HTTP/1.1: any request gets the whole file named on the command line (sendfile, no copy)
  :7000  TCP: writes "hi\n" at once (server speaks first, so a client can time connect to first
         byte), then holds the connection until the client closes it

usage: egress_upstream.py ADDRESS FILE   (prints "ready" when both listen)
"""
import asyncio
import os
import sys


async def http(reader, writer, path, size):
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n" % size)
        await writer.drain()
        with open(path, "rb") as f:
            await asyncio.get_running_loop().sock_sendfile(writer.get_extra_info("socket"), f)
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def banner(reader, writer):
    try:
        writer.write(b"hi\n")
        await writer.drain()
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(address, path):
    size = os.path.getsize(path)
    await asyncio.start_server(lambda r, w: http(r, w, path, size), address, 8080, backlog=1024)
    await asyncio.start_server(banner, address, 7000, backlog=2048)
    print("ready", flush=True)
    await asyncio.Event().wait()


asyncio.run(main(sys.argv[1], sys.argv[2]))
