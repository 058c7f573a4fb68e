"""Crashes under a write load, on real processes: 3 monitors and 3 OSDs on 127.0.0.1, a
pool of size 3.

- Every daemon (all OSDs and monitors) is SIGKILLed in the middle of a load of
  overwrites of self-verifying objects, then everything is restarted: every acknowledged
  object is there with at least its last acknowledged generation (or a later one whose
  write was in flight), and no torn object (body hash mismatch, data/xattr/omap of
  different generations) is ever returned, during the load or after. Twice, with
  seeds that are logged.
- One OSD of an acting set is SIGKILLed and restarted in place during appends: the
  client resends and every append is applied exactly once, on every replica (read
  offline after a clean stop).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import random
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

import radospy
from radospy.client.rados import AsyncIoctx
from radospy.common import osdop as o
from radospy.common.config import Config
from radospy.osd.objectstore import ObjectId, ObjectStore
from tests.integration.cluster import wait_for
from tests.integration.rados_cluster import RadosCluster, running

log = logging.getLogger(__name__)

POOL = "crash"
PG_NUM = 8
WRITERS = 6
OBJECTS_PER_WRITER = 4
MAX_BODY = 200 << 10
"""Bodies up to 200 KiB span several of the store's 64 KiB extents."""
SEEDS = (int.from_bytes(os.urandom(4), "little"), int.from_bytes(os.urandom(4), "little"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(tmp_path_factory.mktemp("crash"), num_osds=3)
    with running(c, {POOL: PG_NUM}) as c:
        yield c


def _config(cluster: RadosCluster, op_timeout: int) -> Config:
    conf = {"rados_osd_op_timeout": str(op_timeout)}
    return radospy.Rados(conffile=str(cluster.conf_path), conf=conf).config


def _up_from(cluster: RadosCluster) -> dict[int, int] | None:
    """Each up OSD's ``up_from``, asked through the cluster's polling client (not a
    `radospy ceph` process per poll); None when the monitors cannot be asked."""
    dump = cluster.poll_json("osd dump")
    if dump is None:
        return None
    return {o["osd"]: o["up_from"] for o in dump["osds"] if o["up"]}


def _restart_osds(cluster: RadosCluster, osds: list[int], before: dict[int, int]) -> None:
    """Start ``osds`` again and wait until each has booted (a newer ``up_from``)."""
    for osd in osds:
        cluster.start_osd(osd)

    def booted() -> bool:
        now = _up_from(cluster)
        return now is not None and all(now.get(osd, 0) > before.get(osd, 0) for osd in osds)

    wait_for(booted, 90, f"osds {osds} booted again", poll=0.5)


# --- self-verifying objects ---------------------------------------------------------------


def payload(name: str, gen: int, body: bytes) -> bytes:
    """The object's data: a header naming it, its generation and the body's hash."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{name}|{gen}|{len(body)}|{digest}\n".encode() + body


def verify(name: str, data: bytes, xattr: bytes, omap: dict[str, bytes]) -> int:
    """The generation an object holds; AssertionError when it is torn."""
    header, nl, body = data.partition(b"\n")
    assert nl, f"{name}: no header in {len(data)} bytes"
    got_name, gen, size, digest = header.decode().split("|")
    assert got_name == name, f"{name}: holds {got_name}'s data"
    assert int(size) == len(body), f"{name}: torn, {len(body)} bytes of {size}"
    assert hashlib.sha256(body).hexdigest() == digest, f"{name}: torn body (hash mismatch)"
    assert xattr == gen.encode(), f"{name}: data of gen {gen}, xattr of gen {xattr!r}"
    assert omap == {"gen": gen.encode()}, f"{name}: data of gen {gen}, omap {omap!r}"
    return int(gen)


async def read_verified(ioctx: AsyncIoctx, name: str) -> int | None:
    """Read data, xattr and omap in one op; the verified generation (None: absent)."""
    ops: list[o.OsdOp] = [
        o.Read(offset=0, length=MAX_BODY + 4096),
        o.GetXattr(name="gen"),
        o.OmapGetVals(max_return=10),
    ]
    try:
        results = await ioctx.operate(name, ops, "read")
    except radospy.ObjectNotFound:
        return None
    data, xattr, omap = results
    assert isinstance(data, o.ReadData) and isinstance(xattr, o.XattrValue)
    assert isinstance(omap, o.OmapVals)
    return verify(name, data.data, xattr.value, dict(omap.entries))


@dataclass
class Ledger:
    """What the load was told: acknowledged and attempted generations per object."""

    acked: dict[str, int] = field(default_factory=dict)
    attempted: dict[str, int] = field(default_factory=dict)
    acks: int = 0
    reads: int = 0
    kill_at: int = 0
    enough: asyncio.Event = field(default_factory=asyncio.Event)

    def next_gen(self, name: str) -> int:
        gen = self.attempted.get(name, 0) + 1
        self.attempted[name] = gen
        return gen


async def write_gen(ioctx: AsyncIoctx, name: str, gen: int, body: bytes) -> None:
    """Data, xattr and omap of generation ``gen`` in one atomic op."""
    value = b"%d" % gen
    ops: list[o.OsdOp] = [
        o.WriteFull(data=payload(name, gen, body)),
        o.SetXattr(name="gen", value=value),
        o.OmapSet(entries={"gen": value}),
    ]
    await ioctx.operate(name, ops, "write")


async def load(ioctx: AsyncIoctx, ledger: Ledger, seed: int, killed: asyncio.Event) -> None:
    """Writers overwriting their own objects and readers verifying any object, until
    ``killed`` is set; what is then in flight is neither acknowledged nor checked."""
    rng = random.Random(seed)
    names = [[f"obj-{w}-{i}" for i in range(OBJECTS_PER_WRITER)] for w in range(WRITERS)]

    async def writer(mine: list[str], wrng: random.Random) -> None:
        while True:
            name = wrng.choice(mine)
            gen = ledger.next_gen(name)
            body = wrng.randbytes(wrng.randrange(MAX_BODY))
            await write_gen(ioctx, name, gen, body)
            ledger.acked[name] = gen
            ledger.acks += 1
            if ledger.acks >= ledger.kill_at:
                ledger.enough.set()

    async def reader(rrng: random.Random) -> None:
        flat = [n for group in names for n in group]
        while True:
            name = rrng.choice(flat)
            floor = ledger.acked.get(name, 0)
            gen = await read_verified(ioctx, name)
            assert (gen or 0) >= floor, f"{name}: read gen {gen} after gen {floor} was acked"
            assert (gen or 0) <= ledger.attempted.get(name, 0), f"{name}: gen {gen} never sent"
            ledger.reads += 1

    tasks = [asyncio.create_task(writer(g, random.Random(rng.getrandbits(32)))) for g in names]
    tasks += [asyncio.create_task(reader(random.Random(rng.getrandbits(32)))) for _ in range(2)]
    stop = asyncio.create_task(killed.wait())
    try:
        done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
        for task in done - {stop}:
            task.result()  # a load task failed before the kill: show why
    finally:
        stop.cancel()
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, AssertionError):
            raise result


def _kill_everything(cluster: RadosCluster, rng: random.Random) -> None:
    victims = [("osd", n) for n in cluster.osd_procs] + [("mon", n) for n in cluster.procs]
    rng.shuffle(victims)
    for kind, name in victims:
        if kind == "osd":
            cluster.stop_osd(int(name), signal.SIGKILL)
        else:
            cluster.kill(str(name))


def _restart_everything(cluster: RadosCluster, before: dict[int, int]) -> None:
    for name in cluster.ports:
        cluster.start(name)
    cluster.quorum(timeout=60)
    _restart_osds(cluster, list(range(cluster.num_osds)), before)


async def _load_and_kill(cluster: RadosCluster, ledger: Ledger, rng: random.Random) -> None:
    """Run the load until some more writes are acknowledged, then SIGKILL everything."""
    rados = radospy.AsyncRados(_config(cluster, 120))
    await rados.connect(30)
    ioctx = await rados.open_ioctx(POOL)
    killed = asyncio.Event()
    ledger.enough = asyncio.Event()
    ledger.kill_at = ledger.acks + 40 + rng.randrange(60)

    async def killer() -> None:
        try:
            async with asyncio.timeout(120):
                await ledger.enough.wait()
            await asyncio.to_thread(_kill_everything, cluster, rng)
        finally:
            killed.set()

    kill_task = asyncio.create_task(killer())
    try:
        await load(ioctx, ledger, rng.getrandbits(32), killed)
    finally:
        await kill_task
        await rados.shutdown()


async def _check_after_restart(cluster: RadosCluster, ledger: Ledger, seed: int) -> None:
    """Every acknowledged object holds its last acknowledged generation or a later
    attempted one, untorn; then the ledger starts from what is stored."""
    rados = radospy.AsyncRados(_config(cluster, 120))
    await rados.connect(30)
    try:
        ioctx = await rados.open_ioctx(POOL)
        for name, attempted in sorted(ledger.attempted.items()):
            gen = await read_verified(ioctx, name)
            acked = ledger.acked.get(name)
            if acked is None:
                assert gen is None or gen <= attempted, (seed, name, gen)
                continue
            assert gen is not None, f"seed {seed}: {name} (acked gen {acked}) is lost"
            assert acked <= gen <= attempted, (seed, name, acked, gen, attempted)
            ledger.acked[name] = gen
    finally:
        await rados.shutdown()


def test_kill_every_daemon_under_load(cluster: RadosCluster) -> None:
    ledger = Ledger()
    for seed in SEEDS:
        log.warning("kill-everything round with seed %d", seed)
        print(f"kill-everything round: seed {seed}")
        before = _up_from(cluster)
        assert before is not None
        asyncio.run(_load_and_kill(cluster, ledger, random.Random(seed)))
        assert ledger.reads > 0 and ledger.acked
        _restart_everything(cluster, before)
        asyncio.run(_check_after_restart(cluster, ledger, seed))


def test_osd_killed_and_restarted_during_appends(cluster: RadosCluster) -> None:
    """SIGKILL one OSD (each of the pool's OSDs is in every acting set; it is the
    primary of some PGs) in the middle of appends and start it again in place."""
    seed = SEEDS[0]
    rng = random.Random(seed)
    victim = rng.randrange(cluster.num_osds)
    print(f"osd restart: seed {seed}, victim osd.{victim}")
    names = [f"app-{i}" for i in range(8)]
    done: dict[str, list[bytes]] = {n: [] for n in names}

    async def run() -> None:
        rados = radospy.AsyncRados(_config(cluster, 120))
        await rados.connect(30)
        try:
            ioctx = await rados.open_ioctx(POOL)
            restarted = asyncio.Event()

            async def appender(name: str) -> None:
                seq = after = 0
                # Appends until 5 after the restart: the ones in flight cross it.
                while after < 5:
                    record = f"{name}:{seq};".encode()
                    await ioctx.append(name, record)
                    done[name].append(record)
                    seq += 1
                    after += restarted.is_set()

            async def chaos() -> None:
                await asyncio.to_thread(
                    wait_for, lambda: sum(map(len, done.values())) >= 40, 120, "40 appends", 0.01
                )
                before = await asyncio.to_thread(_up_from, cluster)
                assert before is not None
                await asyncio.to_thread(cluster.stop_osd, victim, signal.SIGKILL)
                await asyncio.to_thread(_restart_osds, cluster, [victim], before)
                restarted.set()

            await asyncio.gather(chaos(), *(appender(n) for n in names))
            for name in names:
                assert await ioctx.read(name, 1 << 20) == b"".join(done[name]), name
        finally:
            await rados.shutdown()

    asyncio.run(run())
    # Every replica holds each append exactly once.
    for osd in list(cluster.osd_procs):
        cluster.stop_osd(osd)
    for osd in range(cluster.num_osds):
        with ObjectStore.open(cluster.root / f"osd.{osd}" / "store", readonly=True) as store:
            held = {}
            for cid in store.list_collections():
                for name in names:
                    if store.stat(cid, ObjectId(name)) is not None:
                        held[name] = store.read(cid, ObjectId(name))
            assert held == {n: b"".join(done[n]) for n in names}, f"osd.{osd} differs"
