"""Proof of the data path (issue 4 §4) on real processes: 3 monitors and 4 OSDs on
127.0.0.1, a pool of size 3, so every object lives on 3 of the 4 OSDs.

- objects of 0 B, 1 B and 4 MiB (with xattrs and omap) written by one client and read
  byte-exact by another; a 100 MiB object written through the striper (4 MiB objects)
  and read back by another client, and a striped object through ``rados --striper``;
- 10,000 small objects in three namespaces, listed completely (each exactly once) by
  ``Ioctx.list_objects()`` and by ``radospy rados ls`` with ``-N`` and ``--all``;
- last: the cluster is stopped and every OSD's store read offline: every acknowledged
  object is on exactly the OSDs its PG maps to in the monitors' OSDMap, with identical
  data, xattrs and omap, and nothing else is stored.

One cluster serves the module; every acknowledged write is recorded in ``ACKED``.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import radospy
from radospy.client.radosstriper import (
    XATTR_LAYOUT_OBJECT_SIZE,
    XATTR_LAYOUT_STRIPE_COUNT,
    XATTR_LAYOUT_STRIPE_UNIT,
    XATTR_SIZE,
    RadosStriper,
)
from radospy.common.config import Config
from radospy.osd.objectstore import ObjectId, ObjectStore
from radospy.osdmap.osdmap import OSDMap
from tests.integration.rados_cluster import RadosCluster, running

POOL = "proof"
PG_NUM = 16
MANY = {"": 8000, "ns1": 1000, "ns2": 1000}
"""Objects per namespace in the listing test: 10,000 in all."""
IN_FLIGHT = 64


@dataclass(frozen=True)
class Acked:
    """What an acknowledged object holds."""

    data: bytes
    xattrs: dict[str, bytes] = field(default_factory=dict)
    omap: dict[str, bytes] = field(default_factory=dict)


ACKED: dict[tuple[str, str], Acked] = {}
"""(namespace, name) -> content of every object a test had acknowledged."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(tmp_path_factory.mktemp("proof"), num_osds=4)
    with running(c, {POOL: PG_NUM}) as c:
        yield c


def _rados(cluster: RadosCluster) -> radospy.Rados:
    r = radospy.Rados(conffile=str(cluster.conf_path), conf={"rados_osd_op_timeout": "120"})
    r.connect(timeout=30)
    return r


@pytest.mark.parametrize("size", [0, 1, 4 << 20])
def test_round_trip_between_clients(cluster: RadosCluster, size: int) -> None:
    data = os.urandom(size)
    name = f"rt-{size}"
    xattrs = {"user.size": b"%d" % size, "user.empty": b""}
    omap = {f"k{i}": os.urandom(i) for i in range(5)}
    with _rados(cluster) as writer, writer.open_ioctx(POOL) as ioctx:
        with radospy.WriteOpCtx() as op:
            op.write_full(data)
            for k, v in xattrs.items():
                op.set_xattr(k, v)
            ioctx.set_omap(op, tuple(omap), tuple(omap.values()))
            ioctx.operate_write_op(op, name)
        ACKED[("", name)] = Acked(data, xattrs, omap)
    with _rados(cluster) as reader, reader.open_ioctx(POOL) as ioctx:
        assert ioctx.stat(name)[0] == size
        assert ioctx.read(name, size + 1) == data
        assert dict(ioctx.get_xattrs(name)) == xattrs
        with radospy.ReadOpCtx() as op:
            vals, _ = ioctx.get_omap_vals(op, "", "", 100)
            ioctx.operate_read_op(op, name)
        assert dict(vals) == omap


def _record_striped(soid: str, data: bytes, object_size: int = 4 << 20) -> None:
    """The RADOS objects a striped write of ``data`` (default layout) leaves."""
    for n, at in enumerate(range(0, max(len(data), 1), object_size)):
        xattrs = {}
        if n == 0:
            xattrs = {
                XATTR_LAYOUT_STRIPE_UNIT: b"%d" % object_size,
                XATTR_LAYOUT_STRIPE_COUNT: b"1",
                XATTR_LAYOUT_OBJECT_SIZE: b"%d" % object_size,
                XATTR_SIZE: b"%d" % len(data),
            }
        ACKED[("", f"{soid}.{n:016x}")] = Acked(data[at : at + object_size], xattrs)


def test_100mib_striped_round_trip(cluster: RadosCluster) -> None:
    size = 100 << 20
    data = os.urandom(size)
    with _rados(cluster) as writer, writer.open_ioctx(POOL) as ioctx:
        RadosStriper(ioctx).write_full("big", data)
    _record_striped("big", data)
    with _rados(cluster) as reader, reader.open_ioctx(POOL) as ioctx:
        striper = RadosStriper(ioctx)
        assert striper.stat("big")[0] == size
        assert striper.read("big", size + 1) == data
        # A range across an object boundary, as the striper cuts it.
        assert (
            striper.read("big", 3 << 20, (4 << 20) - 12345)
            == data[(4 << 20) - 12345 : (7 << 20) - 12345]
        )
        assert ioctx.stat("big.0000000000000018")[0] == 4 << 20
        with pytest.raises(radospy.ObjectNotFound):
            ioctx.stat("big.0000000000000019")


def test_striped_objects_through_the_cli(cluster: RadosCluster, tmp_path: Path) -> None:
    src = tmp_path / "in"
    # A longer object first: the second put cuts it (a truncate and a removed object).
    src.write_bytes(os.urandom(13 << 20))
    rc, _, err = cluster.rados("-p", POOL, "--striper", "put", "cli-striped", str(src))
    assert rc == 0, err
    data = os.urandom((9 << 20) + 7)
    src.write_bytes(data)
    rc, _, err = cluster.rados("-p", POOL, "--striper", "put", "cli-striped", str(src))
    assert rc == 0, err
    _record_striped("cli-striped", data)
    rc, out, err = cluster.rados("-p", POOL, "--striper", "get", "cli-striped", "-")
    assert (rc, len(out)) == (0, len(data)), err
    assert out == data
    rc, out, err = cluster.rados("-p", POOL, "--striper", "stat", "cli-striped")
    assert rc == 0, err
    assert out.decode().startswith(f"{POOL}/cli-striped mtime ")
    assert out.decode().endswith(f", size {len(data)}\n")
    rc, out, err = cluster.rados("-p", POOL, "--striper", "ls")
    assert rc == 0, err
    assert {b"cli-striped", b"big"} <= set(out.split())
    rc, _, err = cluster.rados("-p", POOL, "--striper", "put", "gone", str(src))
    assert rc == 0, err
    rc, _, err = cluster.rados("-p", POOL, "--striper", "rm", "gone")
    assert rc == 0, err
    rc, out, err = cluster.rados("-p", POOL, "ls")
    assert rc == 0 and b"gone." not in out, err
    rc, _, err = cluster.rados("-p", POOL, "--striper", "stat", "gone")
    assert rc == 1
    assert err == f"error stat-ing {POOL}/gone: (2) No such file or directory\n"


def _many_names() -> list[tuple[str, str]]:
    return [(ns, f"many-{ns or 'default'}-{i}") for ns, count in MANY.items() for i in range(count)]


def test_10k_objects_listed_completely(cluster: RadosCluster) -> None:
    names = _many_names()

    async def write_all() -> None:
        rados = radospy.AsyncRados(_rados_config(cluster))
        await rados.connect(30)
        try:
            ioctxs = {}
            for ns in MANY:
                ioctxs[ns] = await rados.open_ioctx(POOL)
                ioctxs[ns].nspace = ns
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def put(ns: str, name: str) -> None:
                async with gate:
                    await ioctxs[ns].write_full(name, name.encode())
                ACKED[(ns, name)] = Acked(name.encode())

            await asyncio.gather(*(put(ns, name) for ns, name in names))
        finally:
            await rados.shutdown()

    asyncio.run(write_all())
    others = Counter(k for k in ACKED if not k[1].startswith("many-"))
    with _rados(cluster) as reader, reader.open_ioctx(POOL) as ioctx:
        for ns in MANY:
            ioctx.set_namespace(ns)
            listed = Counter((ob.nspace, ob.key) for ob in ioctx.list_objects())
            expected = Counter((n, k) for n, k in names if n == ns)
            if ns == "":
                expected += others
            assert listed == expected, f"namespace {ns!r}"
        ioctx.set_namespace(radospy.LIBRADOS_ALL_NSPACES)
        listed = Counter((ob.nspace, ob.key) for ob in ioctx.list_objects())
        assert listed == Counter(names) + others
    for ns, count in MANY.items():
        rc, out, err = cluster.rados("-p", POOL, "-N", ns, "ls")
        assert rc == 0, err
        got = Counter(out.decode().splitlines())
        assert sum(got[k] for k in got if k.startswith("many-")) == count
        assert all(v == 1 for v in got.values()), "an object listed twice"
        assert {k for k in got if k.startswith("many-")} == {k for n, k in names if n == ns}
    rc, out, err = cluster.rados("-p", POOL, "--all", "ls")
    assert rc == 0, err
    lines = Counter(out.decode().splitlines())
    assert all(v == 1 for v in lines.values()), "an object listed twice"
    want = {f"{ns}\t{name}" for ns, name in names}
    assert want <= set(lines) and len(lines) == len(ACKED)


def test_writes_of_one_pg_in_flight_together(cluster: RadosCluster) -> None:
    """A PG's writes overlap (each is logged and sent on before the one before it is
    durable) and none is lost: 48 objects of one PG written at once, and 32 appends
    to one of them sent together, each landing exactly once (two appends run side by
    side would both write at the size they read, and one would be lost)."""
    osdmap = _current_osdmap(cluster)
    pool_id = next(p.id for p in osdmap.pools.values() if p.name == POOL)
    target = osdmap.object_to_pg(pool_id, "pipe-0", "", "")
    candidates = (f"pipe-{i}" for i in range(10_000))
    names = [n for n in candidates if osdmap.object_to_pg(pool_id, n, "", "") == target][:48]
    assert len(names) == 48
    pieces = [f"<{i:02d}>".encode() for i in range(32)]

    async def write_all() -> bytes:
        rados = radospy.AsyncRados(_rados_config(cluster))
        await rados.connect(30)
        try:
            ioctx = await rados.open_ioctx(POOL)
            await ioctx.write_full(names[0], names[0].encode())
            await asyncio.gather(
                *(ioctx.write_full(name, name.encode()) for name in names[1:]),
                *(ioctx.append(names[0], piece) for piece in pieces),
            )
            return await ioctx.read(names[0], 1 << 20)
        finally:
            await rados.shutdown()

    appended = asyncio.run(write_all())
    for name in names:
        ACKED[("", name)] = Acked(name.encode())
    head = names[0].encode()
    assert appended.startswith(head), appended
    tail = appended[len(head) :]
    assert sorted(tail[i : i + 4] for i in range(0, len(tail), 4)) == pieces, appended
    ACKED[("", names[0])] = Acked(appended)


def _rados_config(cluster: RadosCluster) -> Config:
    conf = {"rados_osd_op_timeout": "120"}
    return radospy.Rados(conffile=str(cluster.conf_path), conf=conf).config


def _current_osdmap(cluster: RadosCluster) -> OSDMap:
    async def fetch() -> OSDMap:
        rados = radospy.AsyncRados(_rados_config(cluster))
        await rados.connect(30)
        try:
            await rados.wait_for_latest_osdmap()
            assert rados.objecter is not None and rados.objecter.osdmap is not None
            return rados.objecter.osdmap
        finally:
            await rados.shutdown()

    return asyncio.run(fetch())


def test_acknowledged_writes_are_on_exactly_their_acting_osds(cluster: RadosCluster) -> None:
    """Last: read every OSD's store offline after a clean stop."""
    assert ACKED
    osdmap = _current_osdmap(cluster)
    pool_id = next(p.id for p in osdmap.pools.values() if p.name == POOL)
    for osd in list(cluster.osd_procs):
        cluster.stop_osd(osd)
    held: dict[tuple[str, str], set[int]] = {}
    for osd in range(cluster.num_osds):
        with ObjectStore.open(cluster.root / f"osd.{osd}" / "store", readonly=True) as store:
            assert store.fsck() == []
            for cid in store.list_collections():
                if int(cid.partition(".")[0]) != pool_id:
                    continue
                after: ObjectId | None = None
                while page := store.list_objects(cid, after=after, limit=1000):
                    for oid in page:
                        key = (oid.nspace, oid.name)
                        assert key in ACKED, f"osd.{osd} holds {key}, never acknowledged"
                        pg = osdmap.object_to_pg(pool_id, oid.name, "", oid.nspace)
                        assert cid == str(pg), f"osd.{osd}: {key} in {cid}, not {pg}"
                        want = ACKED[key]
                        assert store.read(cid, oid) == want.data, f"osd.{osd}: {key} data"
                        assert store.getxattrs(cid, oid) == want.xattrs, f"osd.{osd}: {key}"
                        assert dict(store.omap_iter(cid, oid)) == want.omap, f"osd.{osd}: {key}"
                        held.setdefault(key, set()).add(osd)
                    after = page[-1]
    for key in ACKED:
        pg = osdmap.object_to_pg(pool_id, key[1], "", key[0])
        acting = set(osdmap.pg_to_up_acting_osds(pg).acting)
        assert len(acting) == 3
        assert held.get(key, set()) == acting, f"{key} in pg {pg}"
