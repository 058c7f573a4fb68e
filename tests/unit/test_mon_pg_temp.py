"""`ceph osd pg-temp`: what OSDs ask for while a new up set is backfilled, with Ceph's
messages and refusals that change nothing."""

from __future__ import annotations

import errno

import pytest

from radospy.common.errors import InvalidArgument
from radospy.osdmap.pg import PgId

from .mon_helpers import with_osds


def test_pg_temp_sets_and_clears_the_acting_set() -> None:
    mon = with_osds(4)
    mon.ok("osd pool create p 4")
    pool = mon.state.osdmap.pool_by_name("p").id
    result = mon.ok(f"osd pg-temp {pool}.1 3 1 2")
    assert result.outs == f"set {pool}.1 pg_temp mapping to [3,1,2]"
    osdmap = mon.state.osdmap
    assert osdmap.pg_temp[PgId(pool, 1)] == [3, 1, 2]
    mapping = osdmap.pg_to_up_acting_osds(PgId(pool, 1))
    assert (mapping.acting, mapping.acting_primary) == ([3, 1, 2], 3)
    epoch = osdmap.epoch
    assert mon.ok(f"osd pg-temp {pool}.1").outs == f"done cleaning up pg_temp of {pool}.1"
    assert PgId(pool, 1) not in mon.state.osdmap.pg_temp
    assert mon.state.osdmap.epoch == epoch + 1


def test_pg_temp_refusals_change_nothing() -> None:
    mon = with_osds(4)
    mon.ok("osd pool create p 4")
    pool = mon.state.osdmap.pool_by_name("p").id
    epoch = mon.state.osdmap.epoch
    cases = [
        (f"osd pg-temp {pool}.9 0 1", -errno.ENOENT, f"pg {pool}.9 does not exist"),
        (f"osd pg-temp {pool}.1 0 7", -errno.ENOENT, "osd.7 does not exist"),
        (f"osd pg-temp {pool}.1 0", -errno.EINVAL, "num of osds (1) < pool min size (2)"),
        (f"osd pg-temp {pool}.1 0 1 2 3", -errno.EINVAL, "num of osds (4) > pool size (3)"),
    ]
    for line, rc, outs in cases:
        result = mon.run(line)
        assert (result.rc, result.outs) == (rc, outs), line
    with pytest.raises(InvalidArgument, match=r"pgid has no \."):
        mon.run("osd pg-temp nodot 0 1")
    result = mon.cmd({"prefix": "osd pg-temp", "pgid": "1.zz", "id": [0, 1]})
    assert result.rc == -errno.EINVAL and "pgnum zz not hex integer" in result.outs
    assert mon.state.osdmap.epoch == epoch and not mon.state.osdmap.pg_temp
