"""An OSD that was down while the others took writes walks every map epoch it missed
when it comes back, so it does not go active on its stale copy (issue #5), on real
processes: 3 monitors and 3 OSDs, a pool of size 3 and min_size 1, ``noout`` set.

1. every object written once; osd.2 is killed (SIGKILL) and marked down;
2. while osd.2 is down the cluster goes through many epochs: objects overwritten,
   osd.1 marked out (osd.0 alone serves) and in again, flags set and unset;
3. osd.0 and osd.1 are killed: the newest writes are only on them;
4. osd.2 is restarted alone: it walks the epochs it missed, so its PGs know the
   intervals osd.0 and osd.1 served without it. They are ``down``, blocked by osd.0
   and osd.1 (``pg dump``, ``pg query``), and a read of an overwritten object does
   not return the old data (it waits);
5. osd.0 and osd.1 come back: every PG is active+clean and every acknowledged write
   reads back.

On a main without map catch-up, step 4 served the first writes' data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import radospy
from tests.integration.cluster import wait_for
from tests.integration.pg_checks import pg_dump, pg_states, wait_clean
from tests.integration.rados_cluster import RadosCluster, connected, running

POOL = "catchup"
PG_NUM = 4
CLEAN_BOUND = 240
OBJECTS = 8


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(
        tmp_path_factory.mktemp("mapcatchup"),
        num_osds=3,
        # beacons every second too (reports are every second in test clusters)
        osd_conf={"osd_beacon_report_interval": "1"},
    )
    with running(c, {POOL: PG_NUM}):
        yield c


def ceph_json(cluster: RadosCluster, *words: str) -> Any:
    return json.loads(cluster.ceph_ok(*words, "--format", "json"))


def osd_epoch(cluster: RadosCluster) -> int:
    return int(ceph_json(cluster, "osd", "dump")["epoch"])


def all_in_state(cluster: RadosCluster, state: str) -> bool:
    return pg_states(cluster) == {state: PG_NUM}


def write_round(ioctx: Any, acked: dict[str, bytes], label: str) -> None:
    for i in range(OBJECTS):
        acked[f"obj{i}"] = f"{label} {i}".encode() * 50
        ioctx.write_full(f"obj{i}", acked[f"obj{i}"])


def test_an_osd_back_from_down_does_not_serve_its_stale_copy(cluster: RadosCluster) -> None:
    cluster.ceph_ok("osd", "pool", "set", POOL, "min_size", "1")
    cluster.ceph_ok("osd", "set", "noout")
    acked: dict[str, bytes] = {}
    first: dict[str, bytes] = {}
    with connected(cluster, op_timeout=180) as rados:
        ioctx = rados.open_ioctx(POOL)
        write_round(ioctx, first, "first")
        acked.update(first)
        wait_clean(cluster, PG_NUM, CLEAN_BOUND)
        cluster.kill_and_mark_down(2)
        missed_from = osd_epoch(cluster)
        write_round(ioctx, acked, "second, osd.2 down")
        cluster.ceph_ok("osd", "out", "1")
        wait_for(
            lambda: all_in_state(cluster, "active+undersized+degraded"),
            120,
            "every PG active on osd.0 alone",
            poll=1.0,
        )
        write_round(ioctx, acked, "third, osd.0 alone")
        cluster.ceph_ok("osd", "in", "1")
        wait_for(
            lambda: all_in_state(cluster, "active+undersized+degraded"),
            CLEAN_BOUND,
            "osd.1 recovered",
            poll=1.0,
        )
        for flag in ("noscrub", "nodeep-scrub"):
            cluster.ceph_ok("osd", "set", flag)
            cluster.ceph_ok("osd", "unset", flag)
        write_round(ioctx, acked, "fourth, osd.0 and osd.1")
    cluster.kill_and_mark_down(0, 1)
    assert osd_epoch(cluster) - missed_from >= 8, "osd.2 should miss many epochs"

    cluster.start_osd(2)
    cluster.wait_osds_up(1)

    def down_pgs() -> dict[str, Any]:
        stats = pg_dump(cluster)
        found = {s["pgid"]: s for s in stats if s["up_primary"] == 2 or s["acting"] == [2]}
        if len(found) == PG_NUM and all(s["state"] == "down" for s in found.values()):
            return found
        return {}

    try:
        found = wait_for(down_pgs, 120, "every PG down on osd.2 alone", poll=1.0)
    except AssertionError:
        raise AssertionError(f"PGs not down on osd.2 alone: {pg_states(cluster)}") from None
    for stat in found.values():
        assert sorted(stat["blocked_by"]) == [0, 1], stat
    pgid = sorted(found)[0]
    peering = ceph_json(cluster, "pg", pgid, "query")["recovery_state"][1]
    assert peering["name"] == "Started/Primary/Peering"
    without_me = [iv for iv in peering["past_intervals"] if 2 not in iv["acting"]]
    assert any(iv["maybe_went_rw"] for iv in without_me), peering
    assert peering["peering_blocked_by"] or peering.get("blocked"), peering

    with connected(cluster, op_timeout=5) as rados:
        ioctx = rados.open_ioctx(POOL)
        for name in sorted(acked)[:2]:
            with pytest.raises(radospy.Error):
                data = ioctx.read(name, 1 << 20)
                pytest.fail(f"{name} read {data[:30]!r} from a down PG")

    cluster.start_osd(0)
    cluster.start_osd(1)
    cluster.wait_osds_up(3)
    wait_clean(cluster, PG_NUM, CLEAN_BOUND)
    with connected(cluster, op_timeout=180) as rados:
        ioctx = rados.open_ioctx(POOL)
        got = {name: ioctx.read(name, 1 << 20) for name in acked}
    assert got == acked
