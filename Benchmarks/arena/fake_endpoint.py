#!/usr/bin/env python3
"""A fake OpenAI-compatible chat completions endpoint for the arena benchmark:
every request streams TOKENS tokens at RATE tokens/s as server-sent events. Each
token's text is "t<CLOCK_MONOTONIC ns when it was written> ", so a client can
tell how long the token took to reach it (same machine, same clock).

    python3 fake_endpoint.py PORT [RATE=50] [TOKENS=100]
"""
import asyncio
import json
import sys
import time

port = int(sys.argv[1])
rate = float(sys.argv[2]) if len(sys.argv) > 2 else 50.0
tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 100


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def event(payload: str) -> bytes:
    return chunk(b"data: " + payload.encode() + b"\n\n")


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
            start = time.monotonic()
            for i in range(tokens):
                # Paced against the start, so the rate holds however late a wake-up is.
                delay = start + (i + 1) / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                text = "t%d " % time.monotonic_ns()
                writer.write(event(json.dumps({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]})))
                await writer.drain()
            writer.write(event(json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})) + event("[DONE]") + chunk(b""))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


asyncio.run(main())
