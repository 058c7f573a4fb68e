"""Pool and self-managed snapshots end to end: 3 monitors and 3 OSDs as real processes,
driven through `radospy rados` and `radospy.Rados`; the last test stops the OSDs and
checks offline that every replica holds the same clones and SnapSets."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

import radospy
from radospy.osd.objectstore import ObjectId, ObjectStore, StoreNotFound
from radospy.osd.objectstore.types import NOSNAP
from radospy.osdmap.pg import PgId
from tests.integration.cluster import wait_for
from tests.integration.rados_cluster import RadosCluster, connected, running

POOL = "snappool"
SELF = "selfpool"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(tmp_path_factory.mktemp("snaps"), num_osds=3)
    with running(c, {POOL: 4, SELF: 4}) as c:
        yield c


@pytest.fixture
def client(cluster: RadosCluster) -> Iterator[radospy.Rados]:
    with connected(cluster) as r:
        yield r


def _put(cluster: RadosCluster, tmp_path: Path, name: str, data: bytes) -> None:
    src = tmp_path / "in"
    src.write_bytes(data)
    rc, _, err = cluster.rados("-p", POOL, "put", name, str(src))
    assert rc == 0, err


def test_pool_snapshots_through_the_cli(cluster: RadosCluster, tmp_path: Path) -> None:
    _put(cluster, tmp_path, "obj", b"version one")
    rc, out, err = cluster.rados("-p", POOL, "mksnap", "s1")
    assert (rc, out) == (0, b"created pool snappool snap s1\n"), err
    rc, _, err = cluster.rados("-p", POOL, "mksnap", "s1")
    assert rc == 1
    assert err == "error creating pool snappool snapshot s1: (17) File exists\n"
    _put(cluster, tmp_path, "obj", b"version two, longer")
    _put(cluster, tmp_path, "born-after", b"new")

    rc, out, err = cluster.rados("-p", POOL, "-s", "s1", "get", "obj", "-")
    assert (rc, out) == (0, b"selected snap 1 's1'\nversion one"), err
    rc, out, err = cluster.rados("-p", POOL, "get", "obj", "-")
    assert (rc, out) == (0, b"version two, longer"), err
    rc, _, err = cluster.rados("-p", POOL, "-s", "s1", "get", "born-after", "-")
    assert rc == 1 and err.endswith("(2) No such file or directory\n"), err
    rc, _, err = cluster.rados("-p", POOL, "-s", "nosuch", "get", "obj", "-")
    assert (rc, err) == (1, "error looking up snap 'nosuch': (2) No such file or directory\n")
    rc, out, err = cluster.rados("-p", POOL, "put", "obj", "-", "-s", "s1", stdin=b"x")
    assert rc == 1 and "(30) Read-only file system" in err, err

    rc, out, err = cluster.rados("-p", POOL, "lssnap")
    lines = out.decode().splitlines()
    assert rc == 0 and len(lines) == 2 and lines[1] == "1 snaps", err
    assert lines[0].startswith("1\ts1\t20")
    rc, out, err = cluster.rados("-p", POOL, "listsnaps", "obj")
    assert rc == 0, err
    assert out.decode() == ("obj:\ncloneid\tsnaps\tsize\toverlap\n1\t1\t11\t[]\nhead\t-\t19\n")
    # `ls` lists heads only, never clones.
    rc, out, err = cluster.rados("-p", POOL, "ls")
    assert sorted(out.decode().split()) == ["born-after", "obj"], err

    rc, out, err = cluster.rados("-p", POOL, "rollback", "obj", "s1")
    assert (rc, out) == (0, b"rolled back pool snappool to snapshot s1\n"), err
    rc, out, err = cluster.rados("-p", POOL, "get", "obj", "-")
    assert (rc, out) == (0, b"version one"), err

    # Removing the snapshot trims its clone on every OSD (checked offline at the end).
    rc, out, err = cluster.rados("-p", POOL, "rmsnap", "s1")
    assert (rc, out) == (0, b"removed pool snappool snap s1\n"), err
    rc, _, err = cluster.rados("-p", POOL, "rmsnap", "s1")
    assert (rc, err) == (
        1,
        "error removing pool snappool snapshot s1: (2) No such file or directory\n",
    )

    def trimmed() -> bool:
        rc, out, _ = cluster.rados("-p", POOL, "listsnaps", "obj")
        return rc == 0 and out.decode().splitlines()[2:] == ["head\t-\t11"]

    wait_for(trimmed, 60, "clone of s1 trimmed")


def test_self_managed_snapshots(client: radospy.Rados) -> None:
    with client.open_ioctx(SELF) as ioctx:
        ioctx.write_full("img", b"A" * 16)
        s1 = ioctx.create_self_managed_snap()
        ioctx.set_self_managed_snap_write([s1])
        ioctx.write("img", b"BB", 4)
        s2 = ioctx.create_self_managed_snap()
        ioctx.set_self_managed_snap_write([s1, s2])
        ioctx.write("img", b"CCC", 10)
        ioctx.write("img", b"D", 0)  # same context: no new clone
        s3 = ioctx.create_self_managed_snap()
        ioctx.set_self_managed_snap_write([s2, s1, s3])
        ioctx.write_full("late", b"late")
        ioctx.remove_object("img")
        assert (s1, s2, s3) == (1, 2, 3)

        views = {
            s1: b"A" * 16,
            s2: b"AAAABBAAAAAAAAAA",
            s3: b"DAAABBAAAACCCAAA",
        }
        for snap, expected in views.items():
            ioctx.set_read(snap)
            assert ioctx.read("img", 100) == expected, f"snap {snap}"
        ioctx.set_read(s1)
        with pytest.raises(radospy.ObjectNotFound):
            ioctx.read("late")
        with pytest.raises(radospy.Error):
            ioctx.write_full("img", b"no writes at a snap")
        ioctx.set_read(radospy.LIBRADOS_SNAP_HEAD)
        with pytest.raises(radospy.ObjectNotFound):
            ioctx.read("img")

        clones = [c.cloneid for c in ioctx.list_object_snaps("img").clones]
        assert clones == [s1, s2, s3]
        # A pool is in one snapshot mode only.
        with pytest.raises(radospy.InvalidArgumentError):
            ioctx.create_snap("named")

        ioctx.rollback_self_managed_snap("img", s2)
        assert ioctx.read("img", 100) == views[s2]

        ioctx.remove_self_managed_snap(s1)

        def s1_trimmed() -> bool:
            return [c.cloneid for c in ioctx.list_object_snaps("img").clones] == [
                s2,
                s3,
                NOSNAP,
            ]

        wait_for(s1_trimmed, 60, "clone of self-managed snap 1 trimmed")
        ioctx.set_read(s2)
        assert ioctx.read("img", 100) == views[s2]


def test_pool_snapshot_api(client: radospy.Rados) -> None:
    with client.open_ioctx(POOL) as ioctx:
        ioctx.write_full("api", b"before")
        ioctx.create_snap("s2")
        snap = ioctx.lookup_snap("s2")
        assert snap.name == "s2" and snap.snap_id > 1
        assert snap.get_timestamp().year >= 2024
        assert [s.name for s in ioctx.list_snaps()] == ["s2"]
        ioctx.write_full("api", b"after")
        ioctx.snap_rollback("api", "s2")
        assert ioctx.read("api") == b"before"
        with pytest.raises(radospy.ObjectNotFound):
            ioctx.lookup_snap("s1")
        with pytest.raises(radospy.InvalidArgumentError):
            ioctx.create_self_managed_snap()


def test_clones_recovered_with_their_head(cluster: RadosCluster, client: radospy.Rados) -> None:
    """A write made while osd.2 was down cloned the head on the other two; log recovery
    after osd.2 restarts copies the clone and the SnapSet along with the head."""
    with client.open_ioctx(POOL) as ioctx:
        ioctx.write_full("rec", b"before the snap")
        cluster.stop_osd(2, signal.SIGKILL)
        rc, _, err = cluster.ceph("osd", "down", "2")
        assert rc == 0, err
        ioctx.create_snap("s3")
        ioctx.write_full("rec", b"after the snap")
        snap_id = ioctx.lookup_snap("s3").snap_id
    cluster.start_osd(2)
    cluster.wait_osds_up(3)

    def clone_on_osd2() -> bool:
        with ObjectStore.open(cluster.root / "osd.2" / "store", readonly=True) as store:
            for cid in store.list_collections():
                clone = ObjectId("rec", "", snap_id)
                # osd.2 runs: its recovery may remove either object between these reads.
                try:
                    if store.read(cid, clone) == b"before the snap":
                        return store.read(cid, ObjectId("rec")) == b"after the snap"
                except StoreNotFound:
                    continue
        return False

    wait_for(clone_on_osd2, 120, "osd.2 to recover the clone", poll=1.0)


def _placement(client: radospy.Rados, pool: str, name: str) -> tuple[PgId, list[int]]:
    """The PG of object ``name`` and its acting set in the client's latest map."""
    client.wait_for_latest_osdmap()
    osdmap = client._core._objecter().osdmap
    assert osdmap is not None
    pid = next(p.id for p in osdmap.pools.values() if p.name == pool)
    pgid = osdmap.object_to_pg(pid, name, "", "")
    return pgid, list(osdmap.pg_to_up_acting_osds(pgid).acting)


def _stored_clones(cluster: RadosCluster, osd: int, name: str) -> set[int]:
    """The clone ids of object ``name`` on ``osd``'s store, read while it runs."""
    with ObjectStore.open(cluster.root / f"osd.{osd}" / "store", readonly=True) as store:
        return {
            oid.snap
            for cid in store.list_collections()
            for oid in store.list_objects(cid, limit=100_000)
            if oid.name == name and oid.snap < NOSNAP
        }


def _log_since(cluster: RadosCluster, osd: int, offset: int) -> str:
    with open(cluster.root / f"osd.{osd}.log") as f:
        f.seek(offset)
        return f.read()


def test_snap_trim_waits_for_a_degraded_object(
    cluster: RadosCluster, client: radospy.Rados
) -> None:
    """An object a replica misses is not trimmed until recovery brings it back (Ceph's
    trimmer skips degraded objects); another object of the same PG is trimmed
    meanwhile. With ``norecover`` holding recovery, the primary trims one object's
    clone and keeps the degraded one's; once recovery runs, that clone goes too."""
    deg = "trim-degraded"
    pgid, acting = _placement(client, SELF, deg)
    other = next(
        n
        for n in (f"trim-other-{i}" for i in range(1000))
        if _placement(client, SELF, n)[0] == pgid
    )
    primary, replica = acting[0], acting[1]
    with client.open_ioctx(SELF) as ioctx:
        for name in (deg, other):
            ioctx.write_full(name, b"before the snap")
        snap = ioctx.create_self_managed_snap()
        ioctx.set_self_managed_snap_write([snap])
        for name in (deg, other):
            ioctx.write_full(name, b"after the snap")
        cluster.stop_osd(replica, signal.SIGKILL)
        rc, _, err = cluster.ceph("osd", "down", str(replica))
        assert rc == 0, err
        # min_size 2: acknowledged by the other two; the replica misses it.
        ioctx.write_full(deg, b"while a replica was down")
        rc, _, err = cluster.ceph("osd", "set", "norecover")
        assert rc == 0, err
        try:
            offset = (cluster.root / f"osd.{primary}.log").stat().st_size
            cluster.start_osd(replica)
            cluster.wait_osds_up(cluster.num_osds)
            wait_for(
                lambda: (
                    f"pg {pgid} activated: active+recovery_wait"
                    in _log_since(cluster, primary, offset)
                ),
                120,
                f"pg {pgid} active, waiting to recover osd.{replica}",
                poll=1.0,
            )
            ioctx.remove_self_managed_snap(snap)
            wait_for(
                lambda: (
                    f"snap trim of pg {pgid} waits for 1 degraded"
                    in _log_since(cluster, primary, offset)
                ),
                120,
                f"the trimmer of pg {pgid} to wait for {deg}",
                poll=1.0,
            )
            # The pass that deferred the degraded object trimmed the other one.
            assert _stored_clones(cluster, primary, other) == set()
            assert _stored_clones(cluster, primary, deg) == {snap}
        finally:
            rc, _, err = cluster.ceph("osd", "unset", "norecover")
            assert rc == 0, err

        def trimmed_everywhere() -> bool:
            return all(not _stored_clones(cluster, o, deg) for o in acting)

        wait_for(trimmed_everywhere, 120, f"{deg}'s clone trimmed once recovered", poll=1.0)
        assert [c.cloneid for c in ioctx.list_object_snaps(deg).clones] == [NOSNAP]
        assert ioctx.read(deg) == b"while a replica was down"


def test_replicas_hold_the_same_clones(cluster: RadosCluster) -> None:
    """Last: stop the OSDs and read each store offline. Size 3 on 3 OSDs: every OSD
    holds every PG, clones and SnapSets included, byte for byte."""
    for osd in list(cluster.osd_procs):
        cluster.stop_osd(osd)
    views = []
    for osd in range(cluster.num_osds):
        with ObjectStore.open(cluster.root / f"osd.{osd}" / "store", readonly=True) as store:
            held = {}
            for cid in store.list_collections():
                for oid in store.list_objects(cid, limit=100_000):
                    held[(cid, oid.nspace, oid.name, oid.snap)] = (
                        store.read(cid, oid),
                        store.getxattrs(cid, oid),
                    )
            assert store.fsck() == []
        views.append(held)
    assert views[0] == views[1] == views[2]
    clones = {key for key in views[0] if key[3] < NOSNAP}
    assert clones, "no clones at all"
