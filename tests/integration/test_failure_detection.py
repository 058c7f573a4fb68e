"""Failure detection end to end: 3 monitors and 3 OSDs (one per CRUSH host) as real
processes, with short heartbeat and down-out intervals.

An OSD killed with SIGKILL is marked down (its peers' heartbeat connections are refused)
and, without ``noout``, out after the down-out interval; restarted, it is marked up and
in again. An OSD paused with SIGSTOP is marked down by the heartbeat grace, and once
resumed says it was wrongly marked down and comes back up; ``noout`` keeps it in and
``nodown`` keeps it up. Throughout, a client keeps reading and writing: every PG keeps
at least ``min_size`` (2) of its 3 OSDs, and every acknowledged write reads back.

Each scenario uses a pool of its own, created while every OSD is up, and stops using it
once the failed OSD is back: an OSD that returns holds none of the writes made without
it, and bringing it up to date is recovery's business (peering), not this module's.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import radospy
from tests.integration.cluster import wait_for
from tests.integration.rados_cluster import RadosCluster

GRACE = 8
DOWN_OUT = 4


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(
        tmp_path_factory.mktemp("failures"),
        num_osds=3,
        fast_failure=True,
        heartbeat_grace=GRACE,
        mon_conf={"mon_osd_down_out_interval": str(DOWN_OUT)},
    )
    try:
        c.bring_up()
        yield c
    finally:
        for proc in c.osd_procs.values():
            proc.send_signal(signal.SIGCONT)
        c.close()


class Workload:
    """Writes to a fresh pool and reads back everything it had acknowledged."""

    def __init__(self, cluster: RadosCluster, rados: radospy.Rados, pool: str) -> None:
        rc, _, err = cluster.ceph("osd", "pool", "create", pool, "8")
        assert rc == 0, err
        self.ioctx = rados.open_ioctx(pool)
        self.acked: dict[str, bytes] = {}

    def write_and_check(self, tag: str) -> None:
        for i in range(8):
            name, data = f"{tag}-{i}", os.urandom(1000 + i)
            self.ioctx.write_full(name, data)
            self.acked[name] = data
        for name, data in self.acked.items():
            assert self.ioctx.read(name, len(data) + 1) == data, name


@pytest.fixture(scope="module")
def rados(cluster: RadosCluster) -> Iterator[radospy.Rados]:
    conf = {"rados_osd_op_timeout": "90"}
    with radospy.Rados(conffile=str(cluster.conf_path), conf=conf) as r:
        yield r


def _osds(cluster: RadosCluster) -> dict[int, dict]:
    dump = cluster.poll_json("osd dump")
    return {o["osd"]: o for o in dump["osds"]} if dump is not None else {}


def _wait_osd(cluster: RadosCluster, osd: int, up: int, in_: int, what: str) -> None:
    def state() -> bool:
        info = _osds(cluster).get(osd)
        return info is not None and (info["up"], info["in"]) == (up, in_)

    wait_for(state, 60, f"osd.{osd} {what}", poll=0.3)


def _mon_logs(cluster: RadosCluster) -> str:
    return "".join(p.read_text(errors="replace") for p in Path(cluster.root).glob("mon.*.log"))


def _health(cluster: RadosCluster) -> str:
    rc, out, err = cluster.ceph("health", "detail")
    assert rc == 0, err
    return str(out)


def test_killed_osd_is_marked_down_then_out_and_back(
    cluster: RadosCluster, rados: radospy.Rados
) -> None:
    work = Workload(cluster, rados, "killed")
    work.write_and_check("before")
    cluster.stop_osd(2, signal.SIGKILL)
    _wait_osd(cluster, 2, 0, 1, "marked down")
    logs = _mon_logs(cluster)
    assert "osd.2 failed (root=default,host=h2) (" in logs
    health = _health(cluster)
    # The PGs osd.2 served follow as degraded (PG_DEGRADED) once their primaries report.
    assert health.startswith("HEALTH_WARN 1 osds down; 1 host (1 osds) down")
    assert "    osd.2 (root=default,host=h2) is down\n" in health
    assert "    host h2 (root=default) (1 osds) is down\n" in health
    work.write_and_check("down")
    _wait_osd(cluster, 2, 0, 0, "marked out")
    assert "Marking osd.2 out (has been down for " in _mon_logs(cluster)
    work.write_and_check("out")
    cluster.start_osd(2)
    _wait_osd(cluster, 2, 1, 1, "up and in after restart")
    assert _osds(cluster)[2]["state"] == ["exists", "up"]


def test_paused_osd_is_marked_down_and_says_so_when_resumed(
    cluster: RadosCluster, rados: radospy.Rados
) -> None:
    work = Workload(cluster, rados, "paused")
    work.write_and_check("before")
    rc, _, err = cluster.ceph("osd", "set", "noout")
    assert rc == 0, err
    proc = cluster.osd_procs[1]
    proc.send_signal(signal.SIGSTOP)
    try:
        _wait_osd(cluster, 1, 0, 1, "marked down by heartbeat grace")
        assert "osd.1 failed (root=default,host=h1) (2 reporters from different host after " in (
            _mon_logs(cluster)
        )
        assert "noout flag(s) set" in _health(cluster)
        work.write_and_check("down")
        # noout: still in well after the down-out interval has passed.
        deadline = time.monotonic() + DOWN_OUT + 3
        while time.monotonic() < deadline:
            assert _osds(cluster)[1]["in"] == 1
    finally:
        proc.send_signal(signal.SIGCONT)
    _wait_osd(cluster, 1, 1, 1, "back up after SIGCONT")
    log = (cluster.root / "osd.1.log").read_text(errors="replace")
    assert "Monitor daemon marked osd.1 down, but it is still running" in log
    assert " wrongly marked me down at e" in log
    # It booted again without a restart: counted laggy (Ceph's prepare_boot), so its
    # heartbeat grace is longer from now on.
    rc, out, err = cluster.ceph("osd", "dump", "--format", "json")
    assert rc == 0, err
    xinfo = next(x for x in json.loads(out)["osd_xinfo"] if x["osd"] == 1)
    assert xinfo["laggy_probability"] >= 0.3 and xinfo["laggy_interval"] > 0, xinfo
    rc, _, err = cluster.ceph("osd", "unset", "noout")
    assert rc == 0, err


def test_nodown_keeps_a_paused_osd_up(cluster: RadosCluster, rados: radospy.Rados) -> None:
    work = Workload(cluster, rados, "nodown")
    work.write_and_check("before")
    rc, _, err = cluster.ceph("osd", "set", "nodown")
    assert rc == 0, err
    proc = cluster.osd_procs[0]
    proc.send_signal(signal.SIGSTOP)
    try:
        deadline = time.monotonic() + GRACE + 5
        while time.monotonic() < deadline:
            assert _osds(cluster)[0]["up"] == 1
        assert "nodown flag(s) set" in _health(cluster)
    finally:
        proc.send_signal(signal.SIGCONT)

    def withdrawn() -> bool:
        logs = [(cluster.root / f"osd.{o}.log").read_text(errors="replace") for o in (1, 2)]
        return all("reporting osd.0 still alive" in log for log in logs)

    # Its peers reported it; unset nodown only once they withdrew their reports.
    wait_for(withdrawn, 60, "reports about osd.0 withdrawn")
    rc, _, err = cluster.ceph("osd", "unset", "nodown")
    assert rc == 0, err
    work.write_and_check("after")
    assert all(o["up"] and o["in"] for o in _osds(cluster).values())
