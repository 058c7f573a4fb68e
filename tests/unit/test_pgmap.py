"""The PG stats map and the full/quota decisions made from it (pure cores)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.mon import full_status
from radospy.mon.commands import CommandContext
from radospy.mon.messages import OsdStat, OsdStatReport, PgStat
from radospy.mon.pgmap import UNKNOWN, PGMap
from radospy.osdmap.osdmap import OsdStateFlag
from radospy.osdmap.pool import PoolFlag
from tests.unit.mon_helpers import Mon, with_osds

GIB = 1 << 30


def _stat(total: int = 100 * GIB, used: int = GIB, data: int = 0) -> OsdStat:
    return OsdStat(total, total - used, data, 0, 0)


def _pg(pool: int, seed: int, objects: int, size: int, epoch: int = 5, acting=(0, 1, 2)):
    return PgStat(pool, seed, "active+clean", epoch, objects, size, 3, list(acting))


def _cluster_with_pool(pg_num: int = 4) -> Mon:
    mon = with_osds(3)
    mon.ok(f"osd pool create p {pg_num}")
    return mon


def _report_all(mon: Mon, pgmap: PGMap, per_pg: tuple[int, int], osd_used: int = GIB) -> None:
    """Every OSD reports; osd.0 reports every PG of every pool with per_pg figures."""
    osdmap = mon.state.osdmap
    pgs = [
        _pg(pid, seed, *per_pg, epoch=osdmap.epoch)
        for pid, pool in osdmap.pools.items()
        for seed in range(pool.pg_num)
    ]
    for osd in range(3):
        pgmap.apply_report(
            OsdStatReport(osd, osdmap.epoch, _stat(used=osd_used), pgs if osd == 0 else []),
            mon.now,
        )


def _ctx(mon: Mon, pgmap: PGMap) -> CommandContext:
    ctx = mon.ctx()
    ctx.pgmap = pgmap
    return ctx


def _apply_changes(mon: Mon, pgmap: PGMap) -> full_status.FullChanges:
    """What the leader does: compute the changes and run `osd full-status`."""
    osdmap = mon.state.osdmap
    found = full_status.changes(osdmap, pgmap, pgmap.pool_osds(osdmap))
    if found:
        result = mon.cmd({"prefix": "osd full-status", "states": found.to_words()})
        assert result.rc == 0, result
    return found


# --- PGMap ---------------------------------------------------------------------------------


def test_a_late_report_from_a_former_primary_does_not_win() -> None:
    pgmap = PGMap()
    pgmap.apply_report(OsdStatReport(1, 9, _stat(), [_pg(1, 0, 7, 700, epoch=9)]))
    pgmap.apply_report(OsdStatReport(0, 8, _stat(), [_pg(1, 0, 3, 300, epoch=8)]))
    assert pgmap.pool_stats()[1].num_objects == 7


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # osd
            st.integers(1, 3),  # pool
            st.integers(0, 7),  # seed
            st.integers(1, 20),  # epoch
            st.integers(0, 100),  # objects
        ),
        max_size=40,
    )
)
def test_sums_are_those_of_the_newest_report_of_each_pg(reports: list) -> None:
    pgmap = PGMap()
    newest: dict[tuple[int, int], tuple[int, int]] = {}
    for osd, pool, seed, epoch, objects in reports:
        pgmap.apply_report(
            OsdStatReport(osd, epoch, _stat(), [_pg(pool, seed, objects, objects * 10, epoch)])
        )
        if (pool, seed) not in newest or epoch >= newest[(pool, seed)][0]:
            newest[(pool, seed)] = (epoch, objects)
    sums = pgmap.pool_stats()
    for pool in {p for p, _ in newest}:
        want = sum(o for (p, _), (_, o) in newest.items() if p == pool)
        assert sums[pool].num_objects == want
        assert sums[pool].num_bytes == want * 10
    assert pgmap.num_objects() == sum(o for _, o in newest.values())


def test_prune_forgets_deleted_pools_and_states_count_unknown() -> None:
    mon = _cluster_with_pool(4)
    pgmap = PGMap()
    pgmap.apply_report(OsdStatReport(0, 1, _stat(), [_pg(1, 0, 1, 1), _pg(9, 0, 1, 1)]))
    pgmap.prune(mon.state.osdmap)
    assert set(pgmap.pg_stats) == {(1, 0)}
    assert pgmap.pgs_by_state(mon.state.osdmap, 0.0) == [(UNKNOWN, 3), ("active+clean", 1)]


# --- quotas ----------------------------------------------------------------------------------


def test_quota_sets_full_quota_and_clears_it_below() -> None:
    mon = _cluster_with_pool(4)
    mon.ok("osd pool set-quota p max_objects 10")
    pgmap = PGMap()
    _report_all(mon, pgmap, (2, 100))  # 8 objects: under
    assert not _apply_changes(mon, pgmap)
    _report_all(mon, pgmap, (3, 100))  # 12 objects: over
    found = _apply_changes(mon, pgmap)
    assert found.pools == {1: int(PoolFlag.FULL | PoolFlag.FULL_QUOTA)}
    assert mon.state.osdmap.pools[1].flags & PoolFlag.FULL_QUOTA
    health = mon.ok("health detail").outbuf.decode()
    assert "[WRN] POOL_FULL: 1 pool(s) full" in health
    assert "pool 'p' is full (running out of quota)" in health
    assert "full_quota" in mon.ok("osd dump").outbuf.decode()
    _report_all(mon, pgmap, (2, 100))
    _apply_changes(mon, pgmap)
    assert not mon.state.osdmap.pools[1].flags & (PoolFlag.FULL | PoolFlag.FULL_QUOTA)
    assert mon.ok("health").outbuf.decode() == "HEALTH_OK\n"


def test_max_bytes_quota_and_log_lines() -> None:
    mon = _cluster_with_pool(2)
    mon.ok("osd pool set-quota p max_bytes 1000")
    pgmap = PGMap()
    _report_all(mon, pgmap, (1, 500))
    before = mon.state.osdmap
    _apply_changes(mon, pgmap)
    lines = full_status.describe(before, mon.state.osdmap, pgmap)
    assert lines == ["pool 'p' is full (reached quota's max_bytes: 1000 B)"]


def test_a_pool_not_fully_reported_keeps_its_quota_flag() -> None:
    mon = _cluster_with_pool(4)
    mon.ok("osd pool set-quota p max_objects 1")
    pgmap = PGMap()
    _report_all(mon, pgmap, (1, 1))
    _apply_changes(mon, pgmap)
    assert mon.state.osdmap.pools[1].flags & PoolFlag.FULL_QUOTA
    fresh = PGMap()  # a new leader: nothing reported yet
    fresh.apply_report(OsdStatReport(0, 1, _stat(), [_pg(1, 0, 0, 0)]))
    assert not _apply_changes(mon, fresh)


# --- full ratios -------------------------------------------------------------------------------


def test_full_ratios_mark_osds_and_their_pools() -> None:
    mon = _cluster_with_pool(4)
    pgmap = PGMap()
    _report_all(mon, pgmap, (0, 0))
    pgmap.apply_report(OsdStatReport(1, 1, _stat(used=96 * GIB), []))
    _apply_changes(mon, pgmap)
    osdmap = mon.state.osdmap
    assert osdmap.osds[1].state & OsdStateFlag.FULL
    assert osdmap.pools[1].flags & PoolFlag.FULL
    assert not osdmap.pools[1].flags & PoolFlag.FULL_QUOTA
    health = mon.ok("health detail").outbuf.decode()
    assert health.startswith("HEALTH_ERR ")
    assert "[ERR] OSD_FULL: 1 full osd(s)\n    osd.1 is full\n" in health
    assert "pool 'p' is full (no space)" in health
    # raising the ratio makes it merely nearfull
    assert mon.ok("osd set-full-ratio 0.97").outs == "osd set-full-ratio 0.97"
    mon.ok("osd set-backfillfull-ratio 0.965")
    _apply_changes(mon, pgmap)
    osdmap = mon.state.osdmap
    assert osdmap.osds[1].state & OSD_BITS == OsdStateFlag.NEARFULL
    assert osdmap.pools[1].flags & POOL_BITS == PoolFlag.NEARFULL
    doc = json.loads(mon.ok("osd dump -f json").outbuf)
    assert (doc["full_ratio"], doc["nearfull_ratio"]) == (0.97, 0.85)
    assert "[WRN] OSD_NEARFULL: 1 nearfull osd(s)\n    osd.1 is near full" in (
        mon.ok("health detail").outbuf.decode()
    )


OSD_BITS = full_status.OSD_FULL_BITS
POOL_BITS = full_status.POOL_FULL_BITS


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 100), min_size=3, max_size=3),
    st.integers(0, 30),
    st.integers(0, 20),
)
def test_changes_reach_a_fixed_point(used_pct: list[int], objects: int, quota: int) -> None:
    """After the leader applies the changes once, there is nothing left to change, and
    the flags are exactly what the usage says."""
    mon = _cluster_with_pool(2)
    if quota:
        mon.ok(f"osd pool set-quota p max_objects {quota}")
    pgmap = PGMap()
    _report_all(mon, pgmap, (objects, objects))
    for osd, pct in enumerate(used_pct):
        pgmap.apply_report(OsdStatReport(osd, 1, _stat(total=100, used=pct), []))
    _apply_changes(mon, pgmap)
    assert not _apply_changes(mon, pgmap)
    osdmap = mon.state.osdmap
    over_quota = bool(quota) and 2 * objects >= quota
    assert bool(osdmap.pools[1].flags & PoolFlag.FULL_QUOTA) == over_quota
    assert bool(osdmap.pools[1].flags & PoolFlag.FULL) == (over_quota or max(used_pct) > 95)
    for osd, pct in enumerate(used_pct):
        assert bool(osdmap.osds[osd].state & OsdStateFlag.FULL) == (pct > 95)


def test_full_status_refuses_garbage_and_changes_nothing() -> None:
    mon = _cluster_with_pool(2)
    epoch = mon.state.osdmap.epoch
    for words in (["osd.7=full"], ["pool.1=bogus"], ["osd.x=full"], ["disk.1=full"]):
        result = mon.cmd({"prefix": "osd full-status", "states": words})
        assert result.rc == -22, (words, result)
    assert mon.cmd({"prefix": "osd set-full-ratio", "ratio": 1.5}).rc == -22
    assert mon.state.osdmap.epoch == epoch


# --- ceph df / osd df / status ---------------------------------------------------------------


def test_df_tables_show_the_reported_figures() -> None:
    mon = _cluster_with_pool(4)
    pgmap = PGMap()
    _report_all(mon, pgmap, (5, 1 << 20))
    ctx = _ctx(mon, pgmap)
    from radospy.mon.commands import handle_command, parse_argv

    def run(line: str) -> str:
        result = handle_command(mon.state, parse_argv(line.split()), ctx)
        assert result.rc == 0, result
        return result.outbuf.decode()

    text = run("df")
    assert text.startswith("--- RAW STORAGE ---\nCLASS     SIZE    AVAIL   USED  RAW USED")
    assert "TOTAL  300 GiB  297 GiB  3 GiB     3 GiB       1.00\n" in text
    assert "--- POOLS ---\nPOOL  ID  PGS  STORED  OBJECTS    USED  %USED  MAX AVAIL\n" in text
    # MAX AVAIL: (99 GiB free - 5 GiB above the full ratio) / (1/3 of the weight) / 3
    assert "p      1    4   4 MiB       20  12 MiB      0     94 GiB\n" in text
    doc = json.loads(run("df detail -f json"))
    assert doc["stats"]["total_bytes"] == 300 * GIB
    assert doc["pools"][0]["stats"]["objects"] == 20
    assert doc["pools"][0]["stats"]["stored"] == 4 << 20
    assert doc["pools"][0]["stats"]["quota_objects"] == 0
    osd_df = run("osd df")
    assert osd_df.splitlines()[0].split() == [
        "ID", "CLASS", "WEIGHT", "REWEIGHT", "SIZE", "RAW", "USE", "DATA", "OMAP", "META",
        "AVAIL", "%USE", "VAR", "PGS", "STATUS",
    ]  # fmt: skip
    assert osd_df.splitlines()[-1] == "MIN/MAX VAR: 1.00/1.00  STDDEV: 0"
    assert osd_df.splitlines()[-2].split()[:4] == ["TOTAL", "300", "GiB", "3"]
    assert "root default" in run("osd df tree")
    nodes = json.loads(run("osd df -f json"))["nodes"]
    assert [n["pgs"] for n in nodes] == [4, 4, 4]
    status = run("status")
    assert "    objects: 20 objects, 4 MiB\n" in status
    assert "    usage:   3 GiB used, 297 GiB / 300 GiB avail\n" in status
    assert "    pgs:     4 active+clean\n" in status


def test_status_before_any_report_shows_unknown_pgs() -> None:
    mon = _cluster_with_pool(4)
    out = mon.ok("status").outbuf.decode()
    assert "    pgs:     100.000% pgs unknown\n             4 unknown\n" in out


def test_get_quota_shows_the_current_usage() -> None:
    mon = _cluster_with_pool(2)
    mon.ok("osd pool set-quota p max_objects 1000")
    mon.ok("osd pool set-quota p max_bytes 10M")
    pgmap = PGMap()
    _report_all(mon, pgmap, (3, 1000))
    from radospy.mon.commands import handle_command, parse_argv

    ctx = _ctx(mon, pgmap)
    out = handle_command(mon.state, parse_argv(["osd", "pool", "get-quota", "p"]), ctx)
    assert out.outbuf.decode() == (
        "quotas for pool 'p':\n"
        "  max objects: 1k objects  (current num objects: 6 objects)\n"
        "  max bytes  : 10 MiB  (current num bytes: 2000 bytes)\n"
    )
    doc = json.loads(
        handle_command(
            mon.state, parse_argv(["osd", "pool", "get-quota", "p", "-f", "json"]), ctx
        ).outbuf
    )
    assert (doc["current_num_objects"], doc["quota_max_bytes"]) == (6, 10 << 20)
