"""Reads order per object, not per PG: with a write to object A stuck in replication (a
replica paused with SIGSTOP, `nodown` set so the interval does not change), a read of
object B in the same PG is answered, while a read of A sent after the write waits for
it and returns what it wrote (Ceph's PrimaryLogPG: a read waits for the object's
in-flight writes, reads of other objects do not).

Real processes: 3 monitors and 3 OSDs, a pool of size 3.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator

import pytest

from radospy.osdmap.pg import PgId
from tests.integration.rados_cluster import RadosCluster, async_connected, running

POOL = "order"
DEADLINE = 120.0
"""Generous: the machine is loaded."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(tmp_path_factory.mktemp("readorder"), num_osds=3)
    with running(c, {POOL: 4}) as c:
        yield c


def test_read_waits_for_its_object_only(cluster: RadosCluster) -> None:
    rc, _, err = cluster.ceph("osd", "set", "nodown")
    assert rc == 0, err

    async def run() -> None:
        async with async_connected(cluster) as rados:
            ioctx = await rados.open_ioctx(POOL)
            objecter = rados.objecter
            assert objecter is not None and objecter.osdmap is not None
            osdmap = objecter.osdmap
            by_pg: dict[int, list[str]] = {}
            for i in range(1000):
                name = f"obj-{i}"
                seed = osdmap.object_to_pg(ioctx.pool_id, name, "", "").seed
                by_pg.setdefault(seed, []).append(name)
                if len(by_pg[seed]) == 2:
                    break
            a, b = by_pg[seed]
            await ioctx.write_full(a, b"old a")
            await ioctx.write_full(b, b"b")
            mapping = osdmap.pg_to_up_acting_osds(PgId(ioctx.pool_id, seed))
            replica = next(o for o in mapping.acting if o != mapping.acting_primary)
            proc = cluster.osd_procs[replica]
            proc.send_signal(signal.SIGSTOP)
            try:
                # Sent in this order on the one session with the primary.
                write_a = asyncio.ensure_future(ioctx.write_full(a, b"new a"))
                read_b = asyncio.ensure_future(ioctx.read(b))
                assert await asyncio.wait_for(read_b, DEADLINE) == b"b"
                assert not write_a.done(), "the write completed without its paused replica"
                # Sent after the write: it must not be answered with the old data.
                read_a = asyncio.ensure_future(ioctx.read(a))
            finally:
                proc.send_signal(signal.SIGCONT)
            await asyncio.wait_for(write_a, DEADLINE)
            assert await asyncio.wait_for(read_a, DEADLINE) == b"new a"

    try:
        asyncio.run(run())
    finally:
        rc, _, err = cluster.ceph("osd", "unset", "nodown")
        assert rc == 0, err


def test_big_reads_keep_the_object_order(cluster: RadosCluster) -> None:
    """4 MiB reads (the OSDs read them on their read threads, `osd_read_threads`) keep
    the per-object order: a read sent right after an overwrite on the same session
    returns that overwrite, and another client's reads racing the overwrites return one
    whole generation, never older than the newest one acknowledged before they were
    sent."""
    size = 4 << 20
    names = ["big-0", "big-1"]

    def generation(gen: int) -> bytes:
        return bytes([gen]) * size

    async def run() -> None:
        async with async_connected(cluster) as writer, async_connected(cluster) as watcher:
            wio = await writer.open_ioctx(POOL)
            rio = await watcher.open_ioctx(POOL)
            acked = dict.fromkeys(names, 0)
            for name in names:
                await wio.write_full(name, generation(0))
            done = asyncio.Event()

            async def overwrite(name: str) -> None:
                for gen in range(1, 9):
                    write = asyncio.ensure_future(wio.write_full(name, generation(gen)))
                    read = asyncio.ensure_future(wio.read(name, size))
                    await asyncio.wait_for(write, DEADLINE)
                    acked[name] = gen
                    assert await asyncio.wait_for(read, DEADLINE) == generation(gen)

            async def watch(name: str) -> int:
                reads = 0
                while not done.is_set():
                    floor = acked[name]
                    data = await asyncio.wait_for(rio.read(name, size), DEADLINE)
                    assert data == generation(data[0]), "a read mixed two generations"
                    assert data[0] >= floor, f"read generation {data[0]} after {floor} acked"
                    reads += 1
                return reads

            watchers = [asyncio.ensure_future(watch(n)) for n in names for _ in range(3)]
            try:
                await asyncio.gather(*(overwrite(n) for n in names))
            finally:
                done.set()
            assert all(await asyncio.gather(*watchers))

    asyncio.run(run())
