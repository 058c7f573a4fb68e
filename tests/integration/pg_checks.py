"""Checks of a cluster's PGs for integration tests: states as the monitors report them,
acting sets from the latest OSDMap, and every PG's copies read offline and compared.
"""

from __future__ import annotations

import json
from typing import Any

import radospy
from radospy.osd.objectstore import ObjectId, ObjectStore
from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.pg import PgId
from tests.integration.cluster import wait_for
from tests.integration.rados_cluster import RadosCluster


def pool_id(cluster: RadosCluster, pool: str) -> int:
    rc, out, err = cluster.ceph("osd", "dump", "--format", "json", timeout=20)
    assert rc == 0, err
    return int(next(p["pool"] for p in json.loads(out)["pools"] if p["pool_name"] == pool))


def pg_states(cluster: RadosCluster) -> dict[str, int]:
    """PG state → count, as `ceph status` reports it (empty when it cannot be asked)."""
    status = cluster.poll_json("status")
    if status is None:
        return {}
    return {s["state_name"]: s["count"] for s in status["pgmap"]["pgs_by_state"]}


def pg_dump(cluster: RadosCluster, what: str = "pgs") -> list[dict[str, Any]]:
    """``pg dump WHAT``'s ``pg_stats`` (``pgs`` or ``pgs_brief``), asked through the
    cluster's polling client; empty when it cannot be asked."""
    dump = cluster.poll_json("pg dump", dumpcontents=[what])
    return [] if dump is None else list(dump["pg_stats"])


def wait_clean(cluster: RadosCluster, num_pgs: int, timeout: float, what: str = "") -> None:
    """Wait until all ``num_pgs`` PGs are active+clean, no ``pg_temp`` is left, and each
    PG's state was reported by its acting set of the latest OSDMap: right after a map
    change the PG map still shows what the previous primary last reported (active+clean
    of the old mapping) until the new primary peers and reports."""

    def clean() -> bool:
        dump = cluster.poll_json("osd dump")
        if dump is None or dump["pg_temp"]:
            return False
        if pg_states(cluster) != {"active+clean": num_pgs}:
            return False
        reported = {p["pgid"]: p["acting"] for p in pg_dump(cluster, "pgs_brief")}
        return reported == current_acting(cluster)

    try:
        wait_for(clean, timeout, "every PG active+clean", poll=1.0)
    except AssertionError:
        raise AssertionError(
            f"{what}PGs not active+clean after {timeout}s: {pg_states(cluster)}"
        ) from None


def latest_osdmap(cluster: RadosCluster) -> OSDMap:
    """The latest OSDMap, as a client gets it."""
    r = radospy.Rados(conffile=str(cluster.conf_path))
    r.connect(timeout=30)
    try:
        r.wait_for_latest_osdmap()
        osdmap = r._core._objecter().osdmap
        assert osdmap is not None
        return osdmap
    finally:
        r.shutdown()


def current_acting(cluster: RadosCluster) -> dict[str, list[int]]:
    """Each PG of every pool (as ``pg dump`` names it) and its acting set in the
    latest OSDMap."""
    osdmap = latest_osdmap(cluster)
    return {
        str(PgId(pid, s)): list(osdmap.pg_to_up_acting_osds(PgId(pid, s)).acting)
        for pid, pool in osdmap.pools.items()
        for s in range(pool.pg_num)
    }


def acting_sets(cluster: RadosCluster, pool: str) -> dict[PgId, list[int]]:
    """Each PG of ``pool`` and its acting set in the latest OSDMap."""
    pid = pool_id(cluster, pool)
    osdmap = latest_osdmap(cluster)
    return {
        PgId(pid, s): list(osdmap.pg_to_up_acting_osds(PgId(pid, s)).acting)
        for s in range(osdmap.pools[pid].pg_num)
    }


def object_dump(store: ObjectStore, cid: str) -> dict[ObjectId, tuple[Any, ...]]:
    """Everything a collection holds, object by object (none when it does not exist)."""
    out: dict[ObjectId, tuple[Any, ...]] = {}
    if not store.collection_exists(cid):
        return out
    after = None
    while True:
        batch = store.list_objects(cid, after=after, limit=500)
        for oid in batch:
            stat = store.stat(cid, oid)
            assert stat is not None
            out[oid] = (
                store.read(cid, oid),
                store.getxattrs(cid, oid),
                dict(store.omap_iter(cid, oid)),
                store.omap_get_header(cid, oid),
                stat.version,
            )
        if len(batch) < 500:
            return out
        after = batch[-1]


def open_stores(cluster: RadosCluster, osds: list[int]) -> dict[int, ObjectStore]:
    """Every OSD's store, read-only (the OSDs stopped, or at least not writing)."""
    return {
        osd: ObjectStore.open(cluster.root / f"osd.{osd}" / "store", readonly=True) for osd in osds
    }


def replicas_differ(stores: dict[int, ObjectStore], acting: dict[PgId, list[int]]) -> list[str]:
    """Each PG's replicas against its primary's copy: how they differ (empty: not)."""
    problems = []
    for pgid, osds in sorted(acting.items()):
        cid = str(pgid)
        primary = object_dump(stores[osds[0]], cid)
        for osd in osds[1:]:
            replica = object_dump(stores[osd], cid)
            for oid in sorted(primary.keys() | replica.keys()):
                want, got = primary.get(oid), replica.get(oid)
                if want == got:
                    continue
                if want is None or got is None:
                    how = "only on " + (f"osd.{osd}" if want is None else f"osd.{osds[0]}")
                else:
                    parts = ("data", "xattrs", "omap", "omap header", "version")
                    how = "; ".join(
                        f"{part} {a!r:.60} vs {b!r:.60}"
                        for part, a, b in zip(parts, want, got, strict=True)
                        if a != b
                    )
                problems.append(f"pg {pgid}: {oid} osd.{osds[0]} vs osd.{osd}: {how}")
    return problems
