"""Replacing a failed OSD under its own id, on real processes (3 monitors, 4 OSDs, a pool
of size 3): `noout`, the OSD SIGKILLed, `osd destroy`, its data directory wiped,
`radospy osd --mkfs -i 3` re-creates it, it boots and is backfilled.

Checked: every acknowledged object reads back; the PGs whose up set changed (from
`ceph pg dump`) are exactly those the placement what-if predicts from the OSDMap: the
PGs osd.3 was in while it was destroyed, and none at the end. On the way, the refusals
an operator meets keep Ceph's errnos and wording.
"""

from __future__ import annotations

import errno
import json
import shutil
import signal
import uuid
from collections.abc import Iterator

import pytest

from radospy.osdmap.pg import PgId
from radospy.osdmap.whatif import changed_pgs, operator_step, placement_of, up_sets
from tests.integration.cluster import wait_for
from tests.integration.pg_checks import latest_osdmap, pg_dump, wait_clean
from tests.integration.rados_cluster import RadosCluster, connected, running

POOL = "repl"
PG_NUM = 16
VICTIM = 3
CLEAN_BOUND = 240


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(tmp_path_factory.mktemp("replace"), num_osds=4)
    with running(c, {POOL: PG_NUM}):
        yield c


def _up_sets(cluster: RadosCluster) -> dict[PgId, frozenset[int]]:
    """Each PG's up set and state as the primaries last reported them (`pg dump`)."""
    rc, out, err = cluster.ceph("pg", "dump", "pgs", "--format", "json", timeout=20)
    assert rc == 0, err
    return {PgId.parse(pg["pgid"]): frozenset(pg["up"]) for pg in json.loads(out)["pg_stats"]}


def _reported_as(cluster: RadosCluster, want: dict[PgId, frozenset[int]]) -> bool:
    """Every PG active and reported with the up set `want` has for it."""
    stats = pg_dump(cluster)
    return len(stats) == len(want) and all(
        "active" in pg["state"].split("+")
        and "stale" not in pg["state"]
        and frozenset(pg["up"]) == want[PgId.parse(pg["pgid"])]
        for pg in stats
    )


def _ceph(cluster: RadosCluster, *args: str) -> tuple[int, str, str]:
    rc, out, err = cluster.ceph(*args, timeout=30)
    return int(rc), str(out), str(err)


def test_operator_refusals_keep_cephs_errnos(cluster: RadosCluster) -> None:
    rc, _, err = _ceph(cluster, "osd", "purge", "0", "--force")
    assert rc == errno.EBUSY and "osd.0 is not `down`." in err, err
    rc, _, err = _ceph(cluster, "osd", "destroy-actual", "0")
    assert rc == errno.EPERM, err
    assert "Are you SURE?  Did you verify with 'ceph osd safe-to-destroy'?" in err
    rc, _, err = _ceph(cluster, "osd", "safe-to-destroy", "0")
    assert rc in (errno.EBUSY, errno.EAGAIN), err
    rc, _, err = _ceph(cluster, "osd", "destroy", "9", "--yes-i-really-mean-it")
    assert rc == 0 and "osd.9 does not exist" in err, err
    rc, _, err = _ceph(cluster, "osd", "new", str(uuid.uuid4()), "1")
    assert rc == errno.EINVAL and "id 1 already in use and does not match uuid" in err, err
    rc, out, _ = _ceph(cluster, "osd", "tree")
    assert "destroyed" not in out and "DNE" not in out, out


def test_destroy_and_recreate_moves_only_the_pgs_of_the_disk(cluster: RadosCluster) -> None:
    acked: dict[str, bytes] = {}
    with connected(cluster, op_timeout=180) as r:
        ioctx = r.open_ioctx(POOL)
        for i in range(32):
            acked[f"obj{i}"] = f"before {i} ".encode() * (40 + i)
            ioctx.write_full(f"obj{i}", acked[f"obj{i}"])
    wait_clean(cluster, PG_NUM, CLEAN_BOUND)
    before_map = latest_osdmap(cluster)
    before = _up_sets(cluster)
    assert before == up_sets(before_map)
    holding = {pg for pg, members in before.items() if VICTIM in members}
    assert holding

    # What the what-if predicts: the disk's PGs lose it while it is destroyed, and get
    # it back, at the same place, once it is re-created.
    place = placement_of(before_map, VICTIM)
    destroyed_map = operator_step(before_map, "destroy", VICTIM, place)
    during_predicted = changed_pgs(up_sets(before_map), up_sets(destroyed_map))
    after_predicted = changed_pgs(
        up_sets(before_map), up_sets(operator_step(destroyed_map, "recreate", VICTIM, place))
    )
    assert during_predicted == holding and after_predicted == set()

    assert cluster.ceph("osd", "set", "noout")[0] == 0
    cluster.stop_osd(VICTIM, signal.SIGKILL)
    assert cluster.ceph("osd", "down", str(VICTIM))[0] == 0
    rc, _, err = _ceph(cluster, "osd", "destroy", str(VICTIM))
    assert rc in (errno.EBUSY, errno.EAGAIN), err
    assert "You can proceed by passing --force" in err, err
    rc, _, err = _ceph(cluster, "osd", "destroy", str(VICTIM), "--yes-i-really-mean-it")
    assert rc == 0 and f"destroyed osd.{VICTIM}" in err, err
    rc, out, _ = _ceph(cluster, "osd", "tree")
    assert any(f"osd.{VICTIM}" in line and "destroyed" in line for line in out.splitlines()), out

    during = up_sets(destroyed_map)
    wait_for(lambda: _reported_as(cluster, during), 120, "PGs re-peered without osd.3", poll=1)
    assert changed_pgs(before, _up_sets(cluster)) == during_predicted

    shutil.rmtree(cluster.root / f"osd.{VICTIM}")
    res = cluster.run_tool("osd", "--mkfs", "-i", str(VICTIM), "-c", str(cluster.conf_path))
    assert res.returncode == 0, res.stderr.decode()
    cluster.start_osd(VICTIM)
    cluster.wait_osds_up(4)
    assert cluster.ceph("osd", "unset", "noout")[0] == 0
    wait_clean(cluster, PG_NUM, CLEAN_BOUND, "after re-creating osd.3: ")
    wait_for(lambda: _reported_as(cluster, before), 60, "PGs back on osd.3", poll=1)
    assert changed_pgs(before, _up_sets(cluster)) == after_predicted

    rc, out, _ = _ceph(cluster, "osd", "tree")
    assert "destroyed" not in out, out
    with connected(cluster, op_timeout=180) as r:
        ioctx = r.open_ioctx(POOL)
        for name, data in acked.items():
            assert ioctx.read(name, len(data) + 1) == data, name
    rc, out, err = _ceph(cluster, "osd", "safe-to-destroy", str(VICTIM))
    assert rc == errno.EBUSY and f"OSD(s) {VICTIM} have" in err, err
