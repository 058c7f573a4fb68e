"""Messenger speed over loopback, beside a raw asyncio echo of the same bytes.

Two messengers in one process on uvloop: `client.bench` sends Ping requests to `osd.0`,
whose dispatcher answers each with a Pong carrying the same data. The reference is a bare
`asyncio.Protocol` echo on the same loop that bounces the very bytes the messenger would
put on the wire for one request (header + msgpack body), with no framing, checksums,
sessions or decoding: the floor cost of moving those bytes through the loop and the
kernel. The `match` column says every reply carried back what was sent. With 64 in
flight the echo writes the 64 frames one by one but does no work per message, so that
row shows how much of the messenger's cost is Python per message rather than bytes.

Cases: sequential round trips of small messages (one in flight), the same with 64 in
flight, and 4 MiB payload round trips (MB/s counts the payload once per round trip).

Run alone: `.venv/bin/python bench/msg.py`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import uvloop

from radospy.msg import Connection, Message, Messenger, MessengerConfig, NoAuth, Ping, Pong
from radospy.msg.frame import FrameEncoder
from radospy.msg.messages import REGISTRY

SMALL_COUNT = 5000
PIPELINE = 64
BULK_SIZE = 4 * 1024 * 1024
BULK_COUNT = 40
REPEATS = 3
"""Timings are the best of this many runs (the machine is shared)."""


class Echo:
    """The server's dispatcher: Pong back whatever Ping brought."""

    async def handle(self, conn: Connection, msg: Message, tid: int) -> None:
        if isinstance(msg, Ping):
            await conn.reply(tid, Pong(msg.stamp, msg.data))


class _RawEchoServer(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)  # type: ignore[attr-defined]


class _RawClient(asyncio.Protocol):
    def __init__(self) -> None:
        self.waiting = 0
        self.done: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.waiting -= len(data)
        if self.waiting <= 0 and self.done is not None:
            self.done.set_result(None)

    async def echo(self, blob: bytes, times: int = 1) -> None:
        """Write `blob` `times` times (one write each) and wait for all of it back."""
        self.waiting = len(blob) * times
        self.done = asyncio.get_running_loop().create_future()
        for _ in range(times):
            self.transport.write(blob)  # type: ignore[attr-defined]
        await self.done


def wire_bytes(msg: Message) -> bytes:
    """What the messenger puts on the wire for `msg` sent as a request."""
    type_id, body = REGISTRY.encode(msg)
    return FrameEncoder().header(type_id, 1, 1, 1, 0, body) + body


async def best_of(run: Callable[[], Awaitable[bool]]) -> tuple[float, bool]:
    best, ok = float("inf"), True
    for _ in range(REPEATS):
        start = time.perf_counter()
        ok = await run() and ok
        best = min(best, time.perf_counter() - start)
    return best, ok


async def messenger_cases(conn: Connection) -> list[tuple[float, bool]]:
    small = Ping(1.0, b"x" * 16)
    bulk = Ping(2.0, bytes(range(256)) * (BULK_SIZE // 256))

    async def sequential() -> bool:
        replies = [await conn.request(small, 30) for _ in range(SMALL_COUNT)]
        return all(r == Pong(small.stamp, small.data) for r in replies)

    async def pipelined() -> bool:
        semaphore = asyncio.Semaphore(PIPELINE)

        async def one() -> Message:
            async with semaphore:
                return await conn.request(small, 30)

        replies = await asyncio.gather(*(one() for _ in range(SMALL_COUNT)))
        return all(r == Pong(small.stamp, small.data) for r in replies)

    async def bulk_rt() -> bool:
        ok = True
        for _ in range(BULK_COUNT):
            reply = await conn.request(bulk, 30)
            ok = ok and isinstance(reply, Pong) and reply.data == bulk.data
        return ok

    return [await best_of(case) for case in (sequential, pipelined, bulk_rt)]


async def raw_cases() -> list[tuple[float, bool]]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_RawEchoServer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    transport, client = await loop.create_connection(_RawClient, "127.0.0.1", port)
    small = wire_bytes(Ping(1.0, b"x" * 16))
    bulk = wire_bytes(Ping(2.0, bytes(range(256)) * (BULK_SIZE // 256)))

    async def sequential() -> bool:
        for _ in range(SMALL_COUNT):
            await client.echo(small)
        return True

    async def pipelined() -> bool:
        for _ in range(SMALL_COUNT // PIPELINE):
            await client.echo(small, PIPELINE)
        return True

    async def bulk_rt() -> bool:
        for _ in range(BULK_COUNT):
            await client.echo(bulk)
        return True

    results = [await best_of(case) for case in (sequential, pipelined, bulk_rt)]
    transport.close()
    server.close()
    return results


async def measure() -> tuple[list[tuple[float, bool]], list[tuple[float, bool]]]:
    config = MessengerConfig()
    server = Messenger("osd.0", config, NoAuth(), Echo())
    addr = await server.bind("127.0.0.1", 0)
    client = Messenger("client.bench", config, NoAuth(), Echo())
    try:
        conn = await client.connect(addr, "osd.0")
        ours = await messenger_cases(conn)
    finally:
        await client.shutdown()
        await server.shutdown()
    return ours, await raw_cases()


def main() -> None:
    ours, raw = uvloop.run(measure())
    counts = [SMALL_COUNT, SMALL_COUNT, BULK_COUNT]
    names = [
        "small Ping/Pong, 1 in flight",
        f"small Ping/Pong, {PIPELINE} in flight",
        f"{BULK_SIZE >> 20} MiB Ping/Pong, 1 in flight",
    ]

    def rate(i: int, seconds: float) -> str:
        if i < 2:
            return f"{counts[i] / seconds:,.0f} msg/s"
        return f"{counts[i] * BULK_SIZE / seconds / 1e6:,.0f} MB/s"

    table = [("case", "radospy messenger", "raw asyncio echo", "ratio", "match")]
    for i, name in enumerate(names):
        (mine, ok), (ref, _) = ours[i], raw[i]
        table.append(
            (name, rate(i, mine), rate(i, ref), f"{mine / ref:.1f}x", "yes" if ok else "NO")
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    print(
        f"Messenger round trips over 127.0.0.1 on uvloop, best of {REPEATS}; "
        "ratio = messenger time / raw echo time"
    )
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main()
