"""Scrub, deep scrub and repair end to end: 3 monitors and 3 OSDs as real processes.

One size-3 pool with one PG. Objects are written (several 64 KiB extents, xattrs,
omap); a replica is stopped and its store damaged offline: one extent's bytes flipped
(its checksum no longer matches), one object deleted, one xattr changed. Restarted:

- ``ceph pg scrub`` finds the missing object and the xattr, not the data corruption;
- ``ceph pg deep-scrub`` finds the corrupted extent too: the PG is
  ``active+clean+inconsistent``, health has OSD_SCRUB_ERRORS and PG_DAMAGED, and
  ``rados list-inconsistent-obj`` names each object and the shard's error;
- ``ceph pg repair`` makes every replica byte-exact again, and health clean;
- the primary's own copy corrupted: ``ceph pg repair`` pulls a good copy to it.

Stores are compared offline-readable while the OSDs run (SQLite WAL).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import radospy
from radospy.osd.objectstore import ObjectId, ObjectStore, Transaction
from radospy.osd.objectstore.store import BLOCK_NAME, DB_NAME, EXTENT_SIZE
from tests.integration.cluster import wait_for
from tests.integration.pg_checks import pg_states
from tests.integration.rados_cluster import RadosCluster, connected, running

POOL = "scrubbed"
NAMES = [f"obj{i}" for i in range(10)]
CORRUPT, DELETE, XATTR, PRIMARY_CORRUPT = "obj2", "obj5", "obj7", "obj8"


def content(name: str) -> bytes:
    return (name.encode() * 40_000)[: 3 * EXTENT_SIZE + 123]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(
        tmp_path_factory.mktemp("scrub"),
        num_osds=3,
        osd_conf={"osd_mon_report_interval": "1", "osd_scrub_chunk_max": "4"},
    )
    with running(c, {POOL: 1}):
        yield c


@pytest.fixture(scope="module")
def client(cluster: RadosCluster) -> Iterator[radospy.Rados]:
    with connected(cluster) as r:
        yield r


def placement(cluster: RadosCluster) -> dict[str, Any]:
    rc, out, err = cluster.ceph("osd", "map", POOL, NAMES[0], "--format", "json")
    assert rc == 0, err
    return json.loads(out)


# The checks asked again and again go through the cluster's polling client and the
# test's client, not a `radospy ceph` or `rados` process each (~0.3 s of CPU apiece).


def health(cluster: RadosCluster) -> dict[str, Any]:
    answer = cluster.poll_json("health", detail="detail")
    assert answer is not None, "health detail failed"
    return dict(answer["checks"])


def scrub_errors(cluster: RadosCluster) -> int:
    answer = cluster.poll_json("health", detail="detail")
    if answer is None:
        return -1
    check = answer["checks"].get("OSD_SCRUB_ERRORS")
    return int(check["summary"]["count"]) if check else 0


def inconsistent(client: radospy.Rados, pgid: str) -> dict[str, Any]:
    return client.get_inconsistent_objects(pgid)


def store_path(cluster: RadosCluster, osd: int) -> Any:
    return cluster.root / f"osd.{osd}" / "store"


def copy_of(cluster: RadosCluster, osd: int, cid: str, name: str) -> tuple[Any, ...] | None:
    with ObjectStore.open(store_path(cluster, osd), readonly=True) as store:
        oid = ObjectId(name)
        if store.stat(cid, oid) is None:
            return None
        return (store.read(cid, oid), store.getxattrs(cid, oid), dict(store.omap_iter(cid, oid)))


def flip_extent(cluster: RadosCluster, osd: int, cid: str, name: str, index: int) -> None:
    """Flip one byte of one extent of a stopped OSD's object, leaving its checksum."""
    db = sqlite3.connect(store_path(cluster, osd) / DB_NAME)
    try:
        (object_id,) = db.execute(
            "SELECT id FROM objects WHERE cid=? AND name=? AND nspace=''", (cid, name)
        ).fetchone()
        key = (object_id << 20) | index
        loc, data = db.execute("SELECT loc, data FROM extents WHERE k=?", (key,)).fetchone()
        if data is not None:
            damaged = bytearray(data)
            damaged[100] ^= 0xFF
            db.execute("UPDATE extents SET data=? WHERE k=?", (bytes(damaged), key))
            db.commit()
            return
    finally:
        db.close()
    # A bulk extent lives in the block file.
    with open(store_path(cluster, osd) / BLOCK_NAME, "r+b") as block:
        block.seek(loc + 100)
        byte = block.read(1)[0]
        block.seek(loc + 100)
        block.write(bytes([byte ^ 0xFF]))


def restart_damaged(cluster: RadosCluster, osd: int, damage: Any) -> None:
    """Stop ``osd``, mark it down, ``damage()`` its store, restart it, and wait until
    the PG is active+clean with it again."""
    cluster.stop_osd(osd)
    rc, _, err = cluster.ceph("osd", "down", str(osd))
    assert rc == 0, err
    wait_for(
        lambda: (states := pg_states(cluster)) and "active+clean" not in states,
        60,
        "the pg degraded",
    )
    damage()
    cluster.start_osd(osd)
    cluster.wait_osds_up(3)
    wait_for(lambda: pg_states(cluster) == {"active+clean": 1}, 120, "the pg active+clean")


def expect(cluster: RadosCluster, words: list[str], errors: int) -> None:
    """Run a scrub command and wait until health counts ``errors`` scrub errors."""
    rc, _, err = cluster.ceph(*words)
    assert rc == 0, err
    wait_for(lambda: scrub_errors(cluster) == errors, 120, f"{errors} scrub errors", poll=0.5)


def test_scrub_finds_and_repair_fixes_a_damaged_replica(
    cluster: RadosCluster, client: radospy.Rados
) -> None:
    ioctx = client.open_ioctx(POOL)
    for name in NAMES:
        ioctx.write_full(name, content(name))
        ioctx.set_xattr(name, "user.k", name.encode())
        with radospy.WriteOpCtx() as op:
            ioctx.set_omap(op, ["key"], [name.encode()])
            ioctx.operate_write_op(op, name)
    where = placement(cluster)
    pgid, primary = where["pgid"], where["acting_primary"]
    replica = next(o for o in where["acting"] if o != primary)
    cid = pgid
    wait_for(lambda: pg_states(cluster) == {"active+clean": 1}, 120, "the pg active+clean")

    # Writes go on during a deep scrub (those to the chunk being scrubbed wait for it):
    # no false inconsistency, and every write lands.
    done = threading.Event()
    written: list[int] = []

    def writer() -> None:
        i = 0
        while not done.is_set():
            ioctx.write_full(f"busy{i % 20}", f"generation {i}".encode() * 100)
            written.append(i)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_for(lambda: len(written) > 20, 60, "writes flowing")
        rc, _, err = cluster.ceph("pg", "deep-scrub", pgid)
        assert rc == 0 and err.strip() == f"instructing pg {pgid} on osd.{primary} to deep-scrub"
        wait_for(lambda: inconsistent(client, pgid)["epoch"] > 0, 120, "a first deep scrub")
    finally:
        done.set()
        thread.join(timeout=120)
    assert inconsistent(client, pgid)["inconsistents"] == []
    last = written[-1]
    assert ioctx.read(f"busy{last % 20}") == f"generation {last}".encode() * 100

    def damage() -> None:
        flip_extent(cluster, replica, cid, CORRUPT, 1)
        with ObjectStore.open(store_path(cluster, replica)) as store:
            txn = Transaction().remove(cid, ObjectId(DELETE))
            store.apply(txn.setattrs(cid, ObjectId(XATTR), {"user.k": b"changed"}))

    restart_damaged(cluster, replica, damage)

    # A shallow scrub: the missing object and the xattr, not the corrupted extent.
    expect(cluster, ["pg", "scrub", pgid], 2)
    found = {e["object"]["name"]: e for e in inconsistent(client, pgid)["inconsistents"]}
    assert set(found) == {DELETE, XATTR}
    assert found[DELETE]["union_shard_errors"] == ["missing"]
    shards = {s["osd"]: s for s in found[DELETE]["shards"]}
    assert shards[replica]["errors"] == ["missing"] and shards[primary]["primary"] is True
    assert found[XATTR]["errors"] == ["attr_value_mismatch"]

    # A deep scrub finds the corrupted extent as well.
    expect(cluster, ["pg", "deep-scrub", pgid], 3)
    found = {e["object"]["name"]: e for e in inconsistent(client, pgid)["inconsistents"]}
    assert set(found) == {CORRUPT, DELETE, XATTR}
    assert found[CORRUPT]["union_shard_errors"] == ["read_error"]
    assert found[CORRUPT]["object"] == {"name": CORRUPT, "nspace": "", "locator": "",
                                        "snap": "head", "version": found[CORRUPT]["object"]
                                        ["version"]}  # fmt: skip
    bad = {s["osd"]: s["errors"] for s in found[CORRUPT]["shards"]}
    assert bad[replica] == ["read_error"] and bad[primary] == []
    checks = health(cluster)
    assert checks["OSD_SCRUB_ERRORS"]["summary"]["message"] == "3 scrub errors"
    assert checks["PG_DAMAGED"]["summary"]["message"] == "Possible data damage: 1 pg inconsistent"
    wait_for(
        lambda: pg_states(cluster) == {"active+clean+inconsistent": 1}, 60, "inconsistent state"
    )
    rc, out, err = cluster.rados("list-inconsistent-pg", POOL)
    assert rc == 0 and json.loads(out) == [pgid], err

    # Repair: every replica byte-exact again, the PG clean, health without errors.
    expect(cluster, ["pg", "repair", pgid], 0)
    for name in NAMES:
        want = (content(name), {"user.k": name.encode()}, {"key": name.encode()})
        for osd in where["acting"]:
            assert copy_of(cluster, osd, cid, name) == want, (osd, name)
    assert "PG_DAMAGED" not in health(cluster)
    wait_for(lambda: pg_states(cluster) == {"active+clean": 1}, 60, "the pg clean again")
    assert inconsistent(client, pgid)["inconsistents"] == []
    assert ioctx.read(CORRUPT, 1 << 20) == content(CORRUPT)


def test_repair_of_the_primarys_own_copy(cluster: RadosCluster, client: radospy.Rados) -> None:
    where = placement(cluster)
    pgid, primary = where["pgid"], where["acting_primary"]
    restart_damaged(cluster, primary, lambda: flip_extent(cluster, primary, pgid,
                                                          PRIMARY_CORRUPT, 0))  # fmt: skip
    # Reading the damaged copy fails on the primary; repair pulls a good one to it.
    # No scrub counted errors before it, so health says 0 at once: the wait is for the
    # repair's own log line.
    expect(cluster, ["pg", "repair", pgid], 0)
    log = cluster.root / f"osd.{primary}.log"
    repaired = f"repaired {PRIMARY_CORRUPT} on osd.{primary}"
    wait_for(lambda: repaired in log.read_text(errors="replace"), 120, "the repair")
    for osd in where["acting"]:
        copy = copy_of(cluster, osd, pgid, PRIMARY_CORRUPT)
        assert copy is not None and copy[0] == content(PRIMARY_CORRUPT), osd
    assert client.open_ioctx(POOL).read(PRIMARY_CORRUPT, 1 << 20) == content(PRIMARY_CORRUPT)


def test_scrub_commands_check_their_arguments(cluster: RadosCluster) -> None:
    rc, _, err = cluster.ceph("pg", "scrub", "99.0")
    assert rc != 0 and "pg 99.0 does not exist" in err
    rc, _, err = cluster.ceph("osd", "scrub", "bogus")
    assert rc != 0 and "invalid osd 'bogus'" in err
    rc, _, err = cluster.ceph("osd", "deep-scrub", "all")
    assert rc == 0 and err.strip() == "instructed osd(s) 0,1,2 to deep-scrub"
    rc, _, err = cluster.ceph("osd", "pool", "scrub", "nosuchpool")
    assert rc != 0 and "unrecognized pool 'nosuchpool'" in err
    rc, _, err = cluster.rados("list-inconsistent-obj", "zz")
    assert rc != 0 and "invalid pgid 'zz'" in err
