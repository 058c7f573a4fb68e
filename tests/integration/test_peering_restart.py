"""Past intervals survive an OSD restart, and a PG that cannot go active says why, on
real processes: 3 monitors and 3 OSDs, a pool of size 3 and min_size 2.

1. osd.2 is killed: osd.0 and osd.1 take writes (an interval that went read-write
   without osd.2); osd.1 is killed: osd.0 alone is below min_size, every PG is
   ``undersized+degraded+peered`` (peered, no client I/O);
2. osd.2 comes back: the PGs go active on osd.0 and osd.2 (osd.2 recovers the writes);
3. with ``nodown`` set, osd.2 is paused (SIGSTOP, still up) and osd.0 is killed and
   restarted: where osd.0 is the primary, peering waits for osd.2. ``pg PGID query``
   then shows the past intervals osd.0 kept across its restart (the interval when only
   osd.0 and osd.1 served is there) and the prior set it built from them: that
   interval ended before the PG last went active (on osd.0 and osd.2, which hold what
   it acknowledged), so osd.1 is not among the down OSDs peering would probe, as in
   Ceph; ``pg dump`` says the PG is blocked by osd.2;
4. osd.2 resumes and osd.1 returns: every PG is active+clean and every acknowledged
   write reads back;
5. osd.1 and osd.0 are killed: osd.2 alone holds every write, and the old intervals
   whose members are all down now (osd.0 and osd.1 alone, in step 1) ended before the
   PG last went active: every PG is ``undersized+degraded+peered``, not ``down``; once
   they return every acknowledged write reads back.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.cluster import wait_for
from tests.integration.pg_checks import acting_sets, pg_dump, pg_states, wait_clean
from tests.integration.rados_cluster import RadosCluster, connected, running

POOL = "restart"
PG_NUM = 8
CLEAN_BOUND = 240


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    # beacons every second too (reports are every second in test clusters), so
    # ``pg dump`` follows the PGs closely
    c = RadosCluster(
        tmp_path_factory.mktemp("peerrestart"),
        num_osds=3,
        osd_conf={"osd_beacon_report_interval": "1"},
    )
    with running(c, {POOL: PG_NUM}):
        yield c


def ceph_json(cluster: RadosCluster, *words: str) -> Any:
    rc, out, err = cluster.ceph(*words, "--format", "json")
    assert rc == 0, (words, err)
    return json.loads(out)


def leave_one_osd(cluster: RadosCluster, *osds: int) -> None:
    """Kill and mark down ``osds`` one after the other, then wait until every PG is
    peered (not down) on the one OSD left, below min_size."""
    for osd in osds:
        cluster.kill_and_mark_down(osd)
    (left,) = cluster.osd_procs
    wait_for(
        lambda: pg_states(cluster) == {"undersized+degraded+peered": PG_NUM},
        120,
        f"every PG peered on osd.{left} alone, none down",
        poll=1.0,
    )


def pg_stats(cluster: RadosCluster) -> dict[str, dict[str, Any]]:
    return {s["pgid"]: s for s in pg_dump(cluster)}


def test_restarted_primary_keeps_its_past_intervals(cluster: RadosCluster) -> None:
    acked: dict[str, bytes] = {}
    with connected(cluster, op_timeout=180) as rados:
        ioctx = rados.open_ioctx(POOL)
        for i in range(12):
            acked[f"obj{i}"] = f"first {i}".encode() * 40
            ioctx.write_full(f"obj{i}", acked[f"obj{i}"])
        wait_clean(cluster, PG_NUM, CLEAN_BOUND)
        cluster.kill_and_mark_down(2)
        for i in range(0, 12, 2):
            acked[f"obj{i}"] = f"second {i}, osd.2 down".encode() * 60
            ioctx.write_full(f"obj{i}", acked[f"obj{i}"])
    leave_one_osd(cluster, 1)
    cluster.start_osd(2)
    cluster.wait_osds_up(2)

    def active() -> bool:
        return sum(n for s, n in pg_states(cluster).items() if s.startswith("active")) == PG_NUM

    wait_for(active, 120, "every PG active on osd.0 and osd.2", poll=1.0)
    cluster.kill_and_mark_down(0)
    rc, _, err = cluster.ceph("osd", "set", "nodown")
    assert rc == 0, err
    paused = cluster.osd_procs[2]
    paused.send_signal(signal.SIGSTOP)
    try:
        cluster.start_osd(0)
        cluster.wait_osds_up(2)
        led = [str(pg) for pg, acting in acting_sets(cluster, POOL).items() if acting[0] == 0]
        assert led, "no PG has osd.0 as its primary"
        pgid = led[0]

        def blocked() -> bool:
            stat = pg_stats(cluster).get(pgid)
            return stat is not None and stat["state"] == "peering" and stat["blocked_by"] == [2]

        wait_for(blocked, 120, f"pg {pgid} peering, blocked by the paused osd.2", poll=1.0)
        query = ceph_json(cluster, "pg", pgid, "query")
        step, peering, started = query["recovery_state"]
        assert step["name"] == "Started/Primary/Peering/GetInfo", step
        assert peering["name"] == "Started/Primary/Peering"
        assert started["name"] == "Started"
        # The interval osd.0 and osd.1 served, from before osd.0's restart.
        past = peering["past_intervals"]
        assert any(sorted(iv["acting"]) == [0, 1] and iv["maybe_went_rw"] for iv in past), past
        assert peering["down_osds_we_would_probe"] == [], peering
        assert peering["probing_osds"] == ["0", "2"], peering
        assert "blocked" not in peering and peering["peering_blocked_by"] == []
    finally:
        paused.send_signal(signal.SIGCONT)
        rc, _, err = cluster.ceph("osd", "unset", "nodown")
    assert rc == 0, err
    cluster.start_osd(1)
    cluster.wait_osds_up(3)
    wait_clean(cluster, PG_NUM, CLEAN_BOUND)
    assert read_all(cluster, acked) == acked

    leave_one_osd(cluster, 1, 0)
    cluster.start_osd(0)
    cluster.start_osd(1)
    cluster.wait_osds_up(3)
    wait_clean(cluster, PG_NUM, CLEAN_BOUND)
    assert read_all(cluster, acked) == acked


def read_all(cluster: RadosCluster, acked: dict[str, bytes]) -> dict[str, bytes]:
    with connected(cluster, op_timeout=180) as rados:
        ioctx = rados.open_ioctx(POOL)
        return {name: ioctx.read(name, 1 << 20) for name in acked}
