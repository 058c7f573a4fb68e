"""An OSD restarted while ``noup`` is set, with no new epoch published for it, comes
back once the flag is cleared, on real processes: 3 monitors and 3 OSDs, a pool of
size 3 (issue #5).

1. every object written once, every PG active+clean; ``noup`` and ``nodown`` set
   (epochs every OSD takes in: the primary of the first PG, osd.V below, reports its
   PGs at the newest; which OSD that is depends on the CRUSH weights, which follow
   the file system's size);
2. osd.V is killed (SIGKILL) and restarted at once: the newest map is the one it took
   in before (``catching up on osdmap epochs after E``, E the newest epoch), its boot
   is ignored under ``noup`` (its ``up_from`` does not change) and its peers' failure
   reports under ``nodown``: no epoch comes for it, and it starts from the map it has;
3. ``nodown`` unset and osd.V marked down: it takes that map in and stays down under
   ``noup``; the objects are overwritten on osd.0 and osd.1;
4. ``noup`` unset: osd.V is marked up, its PGs peer and recover the overwrites, every
   PG is active+clean and every acknowledged write reads back.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.cluster import wait_for
from tests.integration.pg_checks import pg_dump, wait_clean
from tests.integration.rados_cluster import RadosCluster, connected, running

POOL = "noup"
PG_NUM = 4
CLEAN_BOUND = 240
OBJECTS = 6
REPORTS = {"osd_mon_report_interval": "1", "osd_beacon_report_interval": "1"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(tmp_path_factory.mktemp("noup"), num_osds=3, osd_conf=REPORTS)
    with running(c, {POOL: PG_NUM}):
        yield c


def osd_dump(cluster: RadosCluster) -> dict[str, Any]:
    """``osd dump`` through the cluster's polling client (`is_up` is polled: not a
    `radospy ceph` process per poll)."""
    dump = cluster.poll_json("osd dump")
    assert dump is not None, "osd dump failed"
    return dict(dump)


def osd_info(cluster: RadosCluster, osd: int) -> dict[str, Any]:
    return next(o for o in osd_dump(cluster)["osds"] if o["osd"] == osd)


def is_up(cluster: RadosCluster, osd: int) -> bool:
    return bool(osd_info(cluster, osd)["up"])


def osd_log(cluster: RadosCluster, osd: int) -> str:
    return (cluster.root / f"osd.{osd}.log").read_text(errors="replace")


def write_round(cluster: RadosCluster, acked: dict[str, bytes], label: str) -> None:
    with connected(cluster, op_timeout=180) as rados:
        ioctx = rados.open_ioctx(POOL)
        for i in range(OBJECTS):
            acked[f"obj{i}"] = f"{label} {i}".encode() * 50
            ioctx.write_full(f"obj{i}", acked[f"obj{i}"])


def reported_at(cluster: RadosCluster, osd: int, epoch: int) -> bool:
    """Whether a PG whose primary is ``osd`` was reported at ``epoch`` or later."""
    return any(
        s["acting_primary"] == osd and s["reported_epoch"] >= epoch for s in pg_dump(cluster)
    )


def test_an_osd_restarted_under_noup_comes_back_when_it_is_unset(
    cluster: RadosCluster,
) -> None:
    acked: dict[str, bytes] = {}
    write_round(cluster, acked, "first")
    wait_clean(cluster, PG_NUM, CLEAN_BOUND)
    cluster.ceph_ok("osd", "set", "noup")
    cluster.ceph_ok("osd", "set", "nodown")
    flags_epoch = int(osd_dump(cluster)["epoch"])
    victim = int(pg_dump(cluster)[0]["acting_primary"])
    wait_for(
        lambda: reported_at(cluster, victim, flags_epoch), 60, f"osd.{victim} at {flags_epoch}"
    )

    up_from = osd_info(cluster, victim)["up_from"]
    cluster.stop_osd(victim, signal.SIGKILL)
    cluster.start_osd(victim)
    catching_up = re.compile(rf"osd\.{victim}: catching up on osdmap epochs after (\d+)")
    found = wait_for(
        lambda: catching_up.search(osd_log(cluster, victim)),
        60,
        f"osd.{victim} restarted from its map",
    )
    assert int(found.group(1)) == flags_epoch
    wait_for(
        lambda: osd_log(cluster, victim).count(f"osd.{victim}: booted at") == 2,
        60,
        f"osd.{victim} started again",
    )
    assert osd_info(cluster, victim)["up_from"] == up_from, "noup: the boot is ignored"

    cluster.ceph_ok("osd", "unset", "nodown")
    cluster.ceph_ok("osd", "down", str(victim))
    wait_for(
        lambda: "wrongly marked me down" in osd_log(cluster, victim),
        60,
        f"osd.{victim} took in the map that marks it down",
    )
    write_round(cluster, acked, f"second, osd.{victim} down")
    assert not is_up(cluster, victim), "noup: the OSD stays down"

    cluster.ceph_ok("osd", "unset", "noup")
    wait_for(lambda: is_up(cluster, victim), 60, f"osd.{victim} up once noup is unset")
    wait_clean(cluster, PG_NUM, CLEAN_BOUND)
    with connected(cluster, op_timeout=180) as rados:
        ioctx = rados.open_ioctx(POOL)
        got = {name: ioctx.read(name, 1 << 20) for name in acked}
    assert got == acked
