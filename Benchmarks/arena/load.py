#!/usr/bin/env python3
"""Arena load: CONCURRENCY battles at a time for SECONDS, each reading its streamed
answer token by token; every token carries the monotonic time the fake endpoint
wrote it, so each arrival gives one latency sample (endpoint → this client).

    python3 load.py arena  PORT PROJECT TOKENS_FILE CONCURRENCY SECONDS   # through Arbiter
    python3 load.py direct PORT CONCURRENCY SECONDS                        # straight from the fake endpoint

`direct` opens two streams per battle to the fake endpoint itself: the same
client and endpoint with no Arbiter in between, so the difference is what the
server adds. Prints one JSON line: samples, p50/p99/max in ms, battles, errors.
"""
import asyncio
import json
import sys
import time


async def request(port, method, path, headers, body):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, head, reader, writer


async def chunks(reader):
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            return
        data = await reader.readexactly(size + 2)
        yield data[:-2]


async def stream_events(reader):
    """Yields the data of each server-sent event."""
    buffer = b""
    async for data in chunks(reader):
        buffer += data
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            for line in block.split(b"\n"):
                if line.startswith(b"data: "):
                    yield line[6:]


def stamp(samples, text):
    now = time.monotonic_ns()
    for word in text.split():
        if word.startswith("t"):
            samples.append((now - int(word[1:])) / 1e6)


async def arena_battle(port, project, token, samples, stats):
    body = json.dumps({"prompt": "Tell me a long story about latency"}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, _, reader, writer = await request(port, "POST", f"/api/projects/{project}/battles", headers, body)
    if status != 200:
        stats["errors"] += 1
        writer.close()
        await asyncio.sleep(0.5)
        return
    battle = None
    async for data in stream_events(reader):
        event = json.loads(data)
        if event["type"] == "token":
            stamp(samples, event["text"])
        elif event["type"] == "start":
            battle = event["battle"]
        elif event["type"] == "error":
            stats["errors"] += 1
    writer.close()
    status, _, reader, writer = await request(port, "POST", f"/api/battles/{battle}/vote", headers, b'{"choice":"tie"}')
    await reader.read()
    writer.close()
    stats["battles"] += 1 if status == 200 else 0
    stats["errors"] += 0 if status == 200 else 1


async def direct_stream(port, samples, stats):
    body = json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
    status, _, reader, writer = await request(port, "POST", "/v1/chat/completions", {"Content-Type": "application/json"}, body)
    async for data in stream_events(reader):
        if data == b"[DONE]":
            break
        piece = json.loads(data)["choices"][0]["delta"].get("content")
        if piece:
            stamp(samples, piece)
    writer.close()


async def direct_battle(port, samples, stats):
    await asyncio.gather(direct_stream(port, samples, stats), direct_stream(port, samples, stats))
    stats["battles"] += 1


async def main():
    mode = sys.argv[1]
    samples, stats = [], {"battles": 0, "errors": 0}
    if mode == "arena":
        port, project, tokens_file, concurrency, seconds = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), float(sys.argv[6])
        tokens = open(tokens_file).read().split()
        battle = lambda i: arena_battle(port, project, tokens[i % len(tokens)], samples, stats)
    else:
        port, concurrency, seconds = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
        battle = lambda i: direct_battle(port, samples, stats)
    deadline = time.monotonic() + seconds

    async def worker(i):
        while time.monotonic() < deadline:
            await battle(i)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    samples.sort()
    pick = lambda q: round(samples[min(len(samples) - 1, int(q * len(samples)))], 3) if samples else None
    print(json.dumps({"mode": mode, "samples": len(samples), "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": round(samples[-1], 3) if samples else None,
                      "battles": stats["battles"], "errors": stats["errors"]}))


asyncio.run(main())
