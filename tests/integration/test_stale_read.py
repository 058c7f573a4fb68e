"""A paused old primary must not answer a read after a new primary acknowledged a write.

The stale read of the long thrash run (#5, seed 444135409): a primary paused
(SIGSTOP) long enough to be marked down; the PG's next primary acknowledges a write;
a client whose map is older than the one that marked the old primary down sends a read
there; on SIGCONT the old primary answers it from its old interval — a state older than
an acknowledged write. Ceph prevents this with read leases (doc/dev/osd_internals/
stale_read.rst): a primary serves reads only until ``readable_until``, renewed by its
replicas, and a new interval's primary waits out the previous one's lease before it
serves.

The stale client is made by keeping client B's map from advancing (a client may hold
an old map for as long as it likes; Ceph allows that, which is why the OSD must fence).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import radospy
from tests.integration.cluster import wait_for
from tests.integration.pg_checks import acting_sets
from tests.integration.rados_cluster import RadosCluster

GRACE = 6


def osd_up(cluster: RadosCluster, osd: int) -> bool | None:
    """Whether ``osd`` is up in the newest map; None when the monitors do not answer."""
    dump = cluster.poll_json("osd dump")
    if dump is None:
        return None
    return bool(next(o for o in dump["osds"] if o["osd"] == osd)["up"])


def test_paused_old_primary_serves_no_stale_read(tmp_path: Path) -> None:
    # A short heartbeat grace, so the paused primary is marked down soon.
    cluster = RadosCluster(tmp_path, num_osds=3, fast_failure=True, heartbeat_grace=GRACE)
    try:
        cluster.bring_up()
        for words in (
            ("osd", "pool", "create", "p", "1"),
            ("osd", "pool", "set", "p", "min_size", "2"),
        ):
            rc, _, err = cluster.ceph(*words, timeout=60)
            assert rc == 0, err
        a = radospy.Rados(conffile=str(cluster.conf_path), conf={"rados_osd_op_timeout": "120"})
        # B's read times out when the old primary refuses it (B never gets a newer map).
        b = radospy.Rados(conffile=str(cluster.conf_path), conf={"rados_osd_op_timeout": "30"})
        a.connect(timeout=30)
        b.connect(timeout=30)
        try:
            ia, ib = a.open_ioctx("p"), b.open_ioctx("p")
            ia.write_full("obj", b"v1")
            wait_for(lambda: ib.read("obj") == b"v1", 60, "B reads v1")
            old_primary = next(iter(acting_sets(cluster, "p").values()))[0]
            # B keeps the map it has now: its ops go to the old primary.
            objecter = b._core._objecter()
            objecter._follower.take = lambda *args: None
            cluster.osd_procs[old_primary].send_signal(signal.SIGSTOP)
            wait_for(lambda: osd_up(cluster, old_primary) is False, 120, "old primary down")
            ia.write_full("obj", b"v2")  # acknowledged by the new primary
            got: dict[str, bytes | Exception] = {}

            def read() -> None:
                try:
                    got["b"] = ib.read("obj")
                except radospy.Error as exc:
                    got["b"] = exc

            reader = threading.Thread(target=read)
            reader.start()
            wait_for(lambda: bool(objecter._in_flight), 30, "B's read sent to the old primary")
            cluster.osd_procs[old_primary].send_signal(signal.SIGCONT)
            reader.join(120)
            # v2 or no answer (the op times out: B never learns the new map); never v1.
            assert got.get("b") != b"v1", "read v1 after v2 was acknowledged"
        finally:
            a.shutdown()
            b.shutdown()
    finally:
        for proc in [*cluster.osd_procs.values(), *cluster.procs.values()]:
            proc.send_signal(signal.SIGCONT)
        cluster.close()
