"""The operator's scenarios of a self-healing cluster, on real processes: 3 monitors and
4 OSDs (one CRUSH host each), a pool of size 3 and min_size 2.

In order, on one cluster:

1. a PG whose every copy that took writes is down is not served from the stale copy
   that is left (it stays inactive: ``peered``; Ceph says ``down``, which needs the
   maps osd.2 missed while down, not fetched yet) and resumes once one of
   them returns: a read waiting on it gets the last acknowledged data, and the stale
   copy is brought up to date rather than the newer writes rolled back;
2. an OSD added to the cluster (osd.3, created now) gets backfilled: PGs move to it,
   its copies are complete and every PG is active+clean;
3. CRUSH weight 0 drains an OSD (osd.3 again): no PG maps to it any more, every PG is
   active+clean on the others.

After each, every PG's copies are read offline and compared with the primary's, and
every acknowledged object is checked on every copy.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import radospy
from radospy.osdmap.pg import PgId
from tests.integration.cluster import wait_for
from tests.integration.pg_checks import (
    acting_sets,
    object_dump,
    open_stores,
    pg_states,
    pool_id,
    replicas_differ,
    wait_clean,
)
from tests.integration.rados_cluster import RadosCluster, connected, running

POOL = "scen"
PG_NUM = 8
CLEAN_BOUND = 240


class ScenarioCluster(RadosCluster):
    """Four OSDs configured, osd.3 not created until the last scenario adds it."""

    def bring_up(self) -> None:
        self.num_osds = 3
        super().bring_up()
        self.num_osds = 4

    def add_osd(self, osd: int) -> None:
        """Create OSD ``osd`` (``--mkfs``) and start it: it joins the CRUSH map."""
        res = self.run_tool("osd", "--mkfs", "-i", str(osd), "-c", str(self.conf_path))
        assert res.returncode == 0, res.stderr.decode()
        self.start_osd(osd)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScenarioCluster]:
    c = ScenarioCluster(tmp_path_factory.mktemp("scenarios"), num_osds=4)
    with running(c, {POOL: PG_NUM}):
        yield c


@pytest.fixture(scope="module")
def ioctx(cluster: ScenarioCluster) -> Iterator[radospy.Ioctx]:
    with connected(cluster, op_timeout=180) as r:
        yield r.open_ioctx(POOL)


ACKED: dict[str, bytes] = {}
"""Every object written and acknowledged, with its data."""


def write(ioctx: radospy.Ioctx, tag: str, count: int) -> None:
    for i in range(count):
        name, data = f"obj{i}", f"{tag} {i} ".encode() * (50 + i)
        ioctx.write_full(name, data)
        ACKED[name] = data


def check_copies(cluster: ScenarioCluster, osds: list[int]) -> dict[PgId, list[int]]:
    """Offline (OSDs stopped, then started again): each PG's copies are identical and
    hold every acknowledged object."""
    acting = acting_sets(cluster, POOL)
    running = sorted(cluster.osd_procs)
    for osd in running:
        cluster.stop_osd(osd)
    stores = open_stores(cluster, osds)
    try:
        problems = replicas_differ(stores, acting)
        held: dict[str, bytes] = {}
        for pgid, members in acting.items():
            for oid, (data, *_) in object_dump(stores[members[0]], str(pgid)).items():
                held[oid.name] = data
        problems += [f"{n} lost or stale" for n, d in ACKED.items() if held.get(n) != d]
    finally:
        for store in stores.values():
            store.close()
        # Started again even when the check fails, so the next scenario fails on its own.
        for osd in running:
            cluster.start_osd(osd)
    assert not problems, problems[:10]
    cluster.wait_osds_up(len(running))
    return acting


def test_pg_without_its_writers_waits_for_one(
    cluster: ScenarioCluster, ioctx: radospy.Ioctx
) -> None:
    write(ioctx, "first", 16)
    cluster.kill_and_mark_down(2)
    # osd.0 and osd.1 take writes that osd.2 never sees.
    write(ioctx, "second", 16)
    cluster.kill_and_mark_down(0)
    cluster.kill_and_mark_down(1)
    cluster.start_osd(2)
    cluster.wait_osds_up(1)

    def inactive() -> bool:
        states = pg_states(cluster)
        stuck = [n for s, n in states.items() if {"down", "peered"} & set(s.split("+"))]
        return sum(stuck) == PG_NUM

    wait_for(inactive, 120, "every PG reported inactive (peered or down)", poll=1.0)
    # osd.2's stale copy is not served: the read waits for a copy that took the writes.
    got: list[bytes | None] = []
    pending = ioctx.aio_read("obj3", 1 << 16, 0, oncomplete=lambda _, data: got.append(data))
    assert not pending.is_complete()
    cluster.start_osd(0)
    cluster.wait_osds_up(2)
    pending.wait_for_complete()
    wait_for(lambda: got, 30, "the read's callback")
    assert got == [ACKED["obj3"]]
    cluster.start_osd(1)
    cluster.wait_osds_up(3)
    wait_clean(cluster, PG_NUM, CLEAN_BOUND)
    check_copies(cluster, [0, 1, 2])


def test_an_added_osd_is_backfilled(cluster: ScenarioCluster, ioctx: radospy.Ioctx) -> None:
    write(ioctx, "third", 24)
    cluster.add_osd(3)
    cluster.wait_osds_up(4)
    wait_clean(cluster, PG_NUM, CLEAN_BOUND)
    acting = check_copies(cluster, [0, 1, 2, 3])
    on_3 = [pg for pg, members in acting.items() if 3 in members]
    assert on_3, acting
    stores = open_stores(cluster, [3])
    try:
        held = {oid.name for pg in on_3 for oid in object_dump(stores[3], str(pg))}
    finally:
        stores[3].close()
    assert held, "osd.3 holds nothing of the PGs that moved to it"


def test_crush_weight_zero_drains_an_osd(cluster: ScenarioCluster, ioctx: radospy.Ioctx) -> None:
    write(ioctx, "fourth", 24)
    rc, _, err = cluster.ceph("osd", "crush", "reweight", "osd.3", "0")
    assert rc == 0, err
    wait_clean(cluster, PG_NUM, CLEAN_BOUND)

    def drained() -> bool:
        # Once each PG is clean its primary deletes the stray copy on osd.3.
        stores = open_stores(cluster, [3])
        try:
            return not any(object_dump(stores[3], f"{pool}.{seed:x}") for seed in range(PG_NUM))
        finally:
            stores[3].close()

    pool = pool_id(cluster, POOL)
    wait_for(drained, 120, "osd.3 to hold no object of the pool", poll=1.0)
    acting = check_copies(cluster, [0, 1, 2, 3])
    assert not any(3 in members for members in acting.values()), acting
