"""An op naming a newer osdmap than its primary's is judged under that newer map.

The primary osd.0 talks to one monitor only (its ``mon_host``), the leader, which is
then paused (SIGSTOP): osd.0 gets no new maps while the other two monitors elect a
leader and go on. The full ratio is then lowered below what the OSDs use: the
monitors mark the pool ``full`` in a new epoch, which the client takes in. The
client's write to an object osd.0 is primary of names that epoch. osd.0 must not
judge it under its older map (no ``full`` flag there: the write would be taken into a
full pool): it waits, asks its monitor for maps again and again, and answers EAGAIN
when the map does not come in time; the client sends the op again after a backoff.
Once the monitor resumes, osd.0 takes in the newer map and refuses the write with
ENOSPC; the object was never written.
"""

from __future__ import annotations

import errno
import json
import re
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import radospy
from tests.integration.cluster import wait_for
from tests.integration.rados_cluster import RadosCluster, connected

DEADLINE = 90.0
POOL = "quota"


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(
        tmp_path_factory.mktemp("stalemap"),
        num_osds=3,
        osd_conf={
            "osd_mon_report_interval": "1",
            # A small device, so that a low full ratio makes the OSDs full.
            "osd_capacity": str(64 << 20),
            "osd_map_wait_resubscribe_interval": "1",
            "osd_map_wait_timeout": "3",
        },
    )
    try:
        c.bring_up()
        yield c
    finally:
        for proc in [*c.osd_procs.values(), *c.procs.values()]:
            proc.send_signal(signal.SIGCONT)
        c.close()


def _json(cluster: RadosCluster, *words: str) -> Any:
    rc, out, err = cluster.ceph(*words, "--format", "json")
    assert rc == 0, err
    return json.loads(out)


def _object_with_primary(cluster: RadosCluster, osd: int) -> str:
    for i in range(200):
        name = f"victim-{i}"
        if _json(cluster, "osd", "map", POOL, name)["acting_primary"] == osd:
            return name
    raise AssertionError(f"no object of pool {POOL} has osd.{osd} as primary")


def _full_epoch(cluster: RadosCluster) -> int | None:
    dump = _json(cluster, "osd", "dump")
    pool = next(p for p in dump["pools"] if p["pool_name"] == POOL)
    return int(dump["epoch"]) if "full" in pool["flags_names"] else None


def test_a_write_waits_for_the_epoch_that_made_its_pool_full(cluster: RadosCluster) -> None:
    # osd.0 talks to the leader only: pausing it cuts osd.0 off the maps while the
    # others go on with a new leader (which osd.1 and osd.2 report their usage to).
    leader = cluster.quorum()["quorum_leader_name"]
    cluster.per_osd_conf[0] = {"mon_host": f"127.0.0.1:{cluster.ports[leader]}"}
    cluster.write_conf(list(cluster.ports))
    cluster.stop_osd(0)
    cluster.start_osd(0)
    cluster.wait_osds_up(3)
    rc, _, err = cluster.ceph("osd", "pool", "create", POOL, "8")
    assert rc == 0, err
    victim = _object_with_primary(cluster, 0)
    with connected(cluster) as client, client.open_ioctx(POOL) as ioctx:
        for i in range(3):
            ioctx.write_full(f"held-{i}", b"held")
        cluster.procs[leader].send_signal(signal.SIGSTOP)
        wait_for(
            lambda: cluster.quorum()["quorum_leader_name"] != leader, DEADLINE, "a new leader"
        )
        rc, _, err = cluster.ceph("osd", "set-full-ratio", "0.001")
        assert rc == 0, err
        epoch = wait_for(lambda: _full_epoch(cluster), DEADLINE, "pool flag full")
        client.wait_for_latest_osdmap()
        outcome: dict[str, BaseException | None] = {}

        def write() -> None:
            try:
                ioctx.write_full(victim, b"into a full pool")
                outcome["write"] = None
            except radospy.Error as exc:
                outcome["write"] = exc

        writer = threading.Thread(target=write)
        writer.start()
        osd_log = cluster.root / "osd.0.log"

        def gave_up_or_ended() -> bool:
            # The op names the client's newest epoch, which may be past the one that
            # made the pool full (another OSD's fullness reported a tick later).
            waits = re.findall(r"for osdmap e(\d+), have e", osd_log.read_text(errors="replace"))
            return any(int(e) >= epoch for e in waits) or "write" in outcome

        # osd.0 answered EAGAIN at least once (the client then sent the op again).
        wait_for(gave_up_or_ended, DEADLINE, "osd.0 to give up waiting for the new map")
        assert "write" not in outcome, f"ended under osd.0's older map: {outcome['write']!r}"
        cluster.procs[leader].send_signal(signal.SIGCONT)
        writer.join(DEADLINE)
        assert not writer.is_alive(), "the write never finished"
        refused = outcome["write"]
        assert isinstance(refused, radospy.Error), "written into a full pool under an older map"
        assert refused.errno == errno.ENOSPC, refused
        with pytest.raises(radospy.ObjectNotFound):
            ioctx.stat(victim)
        for i in range(3):
            assert ioctx.read(f"held-{i}") == b"held"
