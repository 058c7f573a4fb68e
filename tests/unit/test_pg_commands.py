"""What operators see of PGs, as pure cores: the primary's stat tracking, the leader's
stale/stuck/rate logic, health check wording, the `pg` command outputs (laid out as Ceph
16 prints them), progress events and the cluster log."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from radospy.cli._local_cluster import parse_recovery
from radospy.mon import cluster_log, pg_health, pg_output
from radospy.mon.cluster_log import ClusterLog
from radospy.mon.commands import handle_command, parse_argv
from radospy.mon.health import HealthCheck
from radospy.mon.messages import OsdStat, OsdStatReport, PgStat
from radospy.mon.pgmap import RATE_WINDOW, IoRates, PGMap
from radospy.mon.progress import Progress
from radospy.osd.peering import PgState
from radospy.osd.pg_stats import PgStatTracker, object_counts
from tests.unit.mon_helpers import Mon, with_osds

T0 = 1_800_000_000.0
CLEAN = "active+clean"
DEGRADED = "active+undersized+degraded"


def _pg(seed: int, state: str = CLEAN, *, acting=(0, 1, 2), epoch: int = 5, **kw) -> PgStat:
    fields = {
        "up": list(acting),
        "up_primary": acting[0] if acting else -1,
        "acting_primary": acting[0] if acting else -1,
        "last_change": T0,
        "last_active": T0,
        "last_peered": T0,
        "last_clean": T0,
        "last_unstale": T0,
        "last_undegraded": T0,
        "last_fullsized": T0,
    }
    fields.update(kw)
    return PgStat(1, seed, state, epoch, acting=list(acting), **fields)


def _report(osd: int, pgs: list[PgStat], epoch: int = 5) -> OsdStatReport:
    return OsdStatReport(osd, epoch, OsdStat(100 << 30, 99 << 30), pgs)


def _cluster(pg_num: int = 4) -> Mon:
    mon = with_osds(3)
    mon.ok(f"osd pool create p {pg_num}")
    return mon


def _run(mon: Mon, pgmap: PGMap, line: str, now: float) -> tuple[int, str, str]:
    ctx = mon.ctx()
    ctx.pgmap, ctx.now = pgmap, now
    result = handle_command(mon.state, parse_argv(line.split()), ctx)
    assert not hasattr(result, "entry")
    return result.rc, result.outbuf.decode(), result.outs


# --- the primary's side ------------------------------------------------------------------


def test_degraded_and_misplaced_copies() -> None:
    # One of three copies gone: a third of the copies degraded.
    assert object_counts(10, 3, (0, 1), (0, 1), {}, {}).degraded == 10
    # A replica missing 4 objects.
    counts = object_counts(10, 3, (0, 1, 2), (0, 1, 2), {2: 4}, {})
    assert (counts.degraded, counts.misplaced, counts.copies) == (4, 0, 30)
    # pg_temp keeps [0,1,2] serving while up member 3 is backfilled: misplaced, not degraded.
    counts = object_counts(10, 3, (0, 1, 3), (0, 1, 2), {}, {3: 7})
    assert (counts.degraded, counts.misplaced) == (0, 7)


@given(
    st.integers(0, 500),
    st.integers(1, 4),
    st.lists(st.integers(0, 6), max_size=6, unique=True),
    st.dictionaries(st.integers(0, 6), st.integers(0, 600)),
)
def test_counts_never_exceed_the_copies(objects: int, size: int, acting: list, missing) -> None:
    counts = object_counts(objects, size, acting, acting, missing, {})
    assert 0 <= counts.degraded <= counts.copies == objects * size
    assert counts.misplaced == 0


def test_tracker_stamps_follow_the_state() -> None:
    t = PgStatTracker()
    t.note_state(PgState.PEERING, T0)
    assert t.last_active == t.last_clean == T0  # a new PG is stamped at creation
    t.note_state(PgState.ACTIVE | PgState.UNDERSIZED | PgState.DEGRADED, T0 + 5)
    assert (t.state, t.last_change, t.last_became_active) == (DEGRADED, T0 + 5, T0 + 5)
    assert (t.last_active, t.last_fullsized, t.last_clean) == (T0 + 5, T0, T0)
    t.note_state(PgState.ACTIVE | PgState.CLEAN, T0 + 9)
    assert (t.last_change, t.last_clean, t.last_became_active) == (T0 + 9, T0 + 9, T0 + 5)


# --- the leader's map ----------------------------------------------------------------------


def test_rates_come_from_counter_growth_within_the_window() -> None:
    pgmap = PGMap()
    pgmap.apply_report(_report(0, [_pg(0, num_write=100, num_write_kb=400)]), T0)
    assert pgmap.rates(T0) == IoRates()  # a first report is a baseline
    grown = _pg(0, num_write=150, num_write_kb=600, num_objects_recovered=20,
                num_bytes_recovered=20 << 20)  # fmt: skip
    pgmap.apply_report(_report(0, [grown]), T0 + 1)
    rates = pgmap.rates(T0 + 1)
    assert rates.write_ops == 50 / RATE_WINDOW
    assert rates.write_bytes == 200 * 1024 / RATE_WINDOW
    assert rates.recovered_objects == 20 / RATE_WINDOW
    assert pgmap.rates(T0 + 1, pool=2) == IoRates()
    # An OSD restarted: its counters went back, which starts a new baseline.
    pgmap.apply_report(_report(0, [_pg(0, num_write=3)]), T0 + 2)
    assert pgmap.rates(T0 + 2).write_ops == 50 / RATE_WINDOW
    assert pgmap.rates(T0 + 2 + RATE_WINDOW) == IoRates()


def test_stale_when_the_primary_is_down_or_silent_and_unknown_when_unreported() -> None:
    mon = _cluster(4)
    pgmap = PGMap(report_timeout=30.0)
    pgmap.note_pgs(mon.state.osdmap, T0)
    pgmap.apply_report(_report(0, [_pg(0)]), T0)
    pgmap.apply_report(_report(1, [_pg(1, acting=(1, 2, 0))]), T0 + 25)
    states = [pg.state for pg in pgmap.current(mon.state.osdmap, T0 + 31)]
    assert states == ["stale+" + CLEAN, CLEAN, "unknown", "unknown"]
    mon.ok("osd down 1")
    rows = pgmap.current(mon.state.osdmap, T0 + 26)
    assert [pg.state for pg in rows[:2]] == [CLEAN, "stale+" + CLEAN]
    assert rows[2].last_active == T0 and rows[2].acting  # placed by the map


def test_stuck_is_measured_from_the_last_good_stamp() -> None:
    rows = [
        _pg(0, DEGRADED, acting=(0, 1), last_fullsized=T0 - 100, last_undegraded=T0 - 10),
        _pg(1, "peering", last_active=T0 - 100, last_clean=T0 - 100),
        _pg(2),
    ]
    cutoff = T0 - 60
    assert pg_health.stuck(rows, ["undersized"], cutoff) == rows[:1]
    assert pg_health.stuck(rows, ["degraded"], cutoff) == []
    assert pg_health.stuck(rows, ["inactive", "unclean"], cutoff) == rows[1:2]
    assert pg_health.stuck(rows, ["unclean"], T0 + 1) == rows[:2]


def test_health_checks_word_as_ceph() -> None:
    rows = [
        _pg(0, DEGRADED, acting=(1, 0), num_objects=5, num_object_copies=15,
            num_objects_degraded=5, last_fullsized=T0 - 100, last_clean=T0 - 100),
        _pg(1, DEGRADED, acting=(1, 0), num_objects=4, num_object_copies=12,
            num_objects_degraded=4),
        _pg(2, "down", acting=(), last_active=T0 - 30),
        _pg(3, CLEAN, num_objects=1, num_object_copies=3, num_objects_misplaced=2),
    ]  # fmt: skip
    checks = pg_health.pg_health_checks(rows, T0, 60.0)
    assert list(checks) == ["PG_DEGRADED", "PG_AVAILABILITY", "OBJECT_MISPLACED"]
    deg = checks["PG_DEGRADED"]
    assert deg.summary == (
        "Degraded data redundancy: 9/30 objects degraded (30.000%), 1 pg unclean, "
        "2 pgs degraded, 1 pg undersized"
    )
    assert deg.detail == [
        "pg 1.0 is stuck undersized for 100s, current state active+undersized+degraded, "
        "last acting [1,0]",
        "pg 1.1 is active+undersized+degraded, acting [1,0]",
    ]
    assert checks["PG_AVAILABILITY"].summary == "Reduced data availability: 1 pg down"
    assert checks["PG_AVAILABILITY"].detail == ["pg 1.2 is down, acting []"]
    assert checks["OBJECT_MISPLACED"].summary == "2/30 objects misplaced (6.667%)"


# --- command outputs -----------------------------------------------------------------------


def _reported(mon: Mon) -> PGMap:
    pgmap = PGMap(started=T0 - 100)
    osdmap = mon.state.osdmap
    pgmap.note_pgs(osdmap, T0 - 100)
    pgs = [
        _pg(0, num_objects=3, num_bytes=300, log_size=3, ondisk_log_size=3, reported_seq=7,
            last_epoch_clean=4),
        _pg(1, DEGRADED, acting=(0, 1), last_fullsized=T0 - 90, num_objects=1,
            num_object_copies=3, num_objects_degraded=1),
    ]  # fmt: skip
    for osd in range(3):
        pgmap.apply_report(_report(osd, pgs if osd == 0 else [], osdmap.epoch), T0)
    return pgmap


def test_pg_dump_pgs_brief_and_json() -> None:
    mon = _cluster(4)
    pgmap = _reported(mon)
    rc, out, outs = _run(mon, pgmap, "pg dump pgs_brief", T0)
    assert (rc, outs) == (0, "dumped pgs_brief")
    lines = out.splitlines()
    # Ceph's pgs_brief columns: STATE right-aligned under a left-aligned heading.
    assert lines[:3] == [
        "PG_STAT  STATE                       UP       UP_PRIMARY  ACTING   ACTING_PRIMARY",
        "1.0                    active+clean  [0,1,2]           0  [0,1,2]               0",
        "1.1      active+undersized+degraded  [0,1]             0  [0,1]                 0",
    ]  # fmt: skip
    assert lines[3].startswith("1.2                         unknown  [")
    rc, out, _ = _run(mon, pgmap, "pg dump --format json", T0)
    body = json.loads(out)
    assert body["pg_ready"] is True
    stats = body["pg_map"]["pg_stats"]
    assert [s["pgid"] for s in stats] == ["1.0", "1.1", "1.2", "1.3"]
    assert stats[0]["reported_seq"] == 7 and stats[0]["stat_sum"]["num_objects"] == 3
    assert [s["last_epoch_clean"] for s in stats[:2]] == [4, 0]
    assert body["pg_map"]["pg_stats_sum"]["stat_sum"]["num_bytes"] == 300
    rc, out, outs = _run(mon, pgmap, "pg dump", T0)
    assert out.startswith("version 3\nstamp ") and outs == "dumped all"
    assert "\nPG_STAT  OBJECTS  MISSING_ON_PRIMARY  DEGRADED  MISPLACED  UNFOUND" in out
    assert "\nsum  4  0  1  0  0  300  0  0  3  3\n" in out
    assert out.endswith(pg_output.OMAP_NOTE + "\n")


def test_dump_stuck_map_stat_ls_and_pool_stats() -> None:
    mon = _cluster(4)
    pgmap = _reported(mon)
    rc, out, outs = _run(mon, pgmap, "pg dump_stuck undersized", T0)
    assert (rc, outs) == (0, "ok")
    assert [line.split()[0] for line in out.splitlines()] == ["PG_STAT", "1.1"]
    assert _run(mon, pgmap, "pg dump_stuck undersized 100", T0)[1] == ""
    epoch = mon.state.osdmap.epoch
    rc, out, _ = _run(mon, pgmap, "pg map 1.1", T0)
    assert rc == 0 and out.startswith(f"osdmap e{epoch} pg 1.1 (1.1) -> up [")
    rc, out, _ = _run(mon, pgmap, "pg map 1.5", T0)
    assert out.startswith(f"osdmap e{epoch} pg 1.5 (1.1) -> up [")
    rc, _, outs = _run(mon, pgmap, "pg map 7.0", T0)
    assert (rc, outs) == (-2, "pg '7.0' does not exist")
    rc, out, _ = _run(mon, pgmap, "pg stat", T0)
    assert out.startswith("4 pgs: 2 unknown, 1 active+clean, 1 active+undersized+degraded; ")
    assert out.endswith("; 1/3 objects degraded (33.333%)\n")
    rc, out, _ = _run(mon, pgmap, "pg ls undersized", T0 + 30)
    rows = out.splitlines()
    assert rows[0].split()[:3] == ["PG", "OBJECTS", "DEGRADED"] and len(rows) == 4
    assert rows[1].split()[0] == "1.1" and " 30s " in rows[1] and "[0,1]p0" in rows[1]
    rc, out, _ = _run(mon, pgmap, "pg ls-by-primary osd.0 --format json", T0)
    assert [p["pgid"] for p in json.loads(out)["pg_stats"]] == ["1.0", "1.1"]
    rc, out, _ = _run(mon, pgmap, "osd pool stats", T0)
    assert out == "pool p id 1\n  1/3 objects degraded (33.333%)\n\n"
    rc, _, outs = _run(mon, pgmap, "osd pool stats nope", T0)
    assert (rc, outs) == (-2, "unrecognized pool 'nope'")


def test_rate_lines_read_as_ceph_prints_them() -> None:
    rates = IoRates(read_ops=0, write_ops=344.9, write_bytes=5.4 * 2**20,
                    recovered_objects=7.5, recovered_bytes=499 * 1024)  # fmt: skip
    assert pg_output.client_io(rates) == "5.4 MiB/s wr, 0 op/s rd, 344 op/s wr"
    assert pg_output.client_io_oneline(rates) == "5.4 MiB/s wr, 344 op/s"
    assert pg_output.recovery_io(rates) == "499 KiB/s, 7 objects/s"
    assert pg_output.client_io(IoRates()) == pg_output.recovery_io(IoRates()) == ""


def test_status_shows_degraded_io_and_progress() -> None:
    mon = _cluster(4)
    pgmap = _reported(mon)
    ctx = mon.ctx()
    ctx.pgmap, ctx.now = pgmap, T0
    ctx.progress = Progress()
    ctx.progress.osd_marked(1, "out", pgmap.current(mon.state.osdmap, T0), T0 - 10)
    ctx.progress.update(pgmap.current(mon.state.osdmap, T0), T0)
    out = handle_command(mon.state, {"prefix": "status"}, ctx).outbuf.decode()
    assert "    pgs:     50.000% pgs unknown\n             1/3 objects degraded (33.333%)\n" in out
    assert "            Degraded data redundancy: 1/3 objects degraded (33.333%), " in out
    assert "  progress:\n    Rebalancing after osd.1 marked out (10s)\n      [" in out


# --- progress and the cluster log ---------------------------------------------------------


def test_progress_events_follow_pgs_until_clean() -> None:
    progress = Progress()
    rows = [_pg(0), _pg(1, acting=(1, 2, 0)), _pg(2, acting=(2, 0, 3))]
    progress.osd_marked(1, "out", rows, T0)
    (event,) = progress.events.values()
    assert event.message == "Rebalancing after osd.1 marked out" and len(event.pgs) == 2
    behind = [_pg(0, "active+remapped+backfilling"), _pg(1), _pg(2, DEGRADED)]
    progress.update(behind, T0 + 10)
    assert event.progress == 0.5
    assert event.bar(T0 + 10) == "[" + "=" * 14 + "." * 14 + "] (remaining: 10s)"
    glob = next(e for e in progress.events.values() if e.message == "Global Recovery Event")
    assert glob.pgs == {(1, 2)}
    progress.update([_pg(0), _pg(1), _pg(2)], T0 + 20)
    assert not progress.events and len(progress.completed) == 2
    assert progress.text(T0 + 20).startswith("[Complete]: ")
    assert Progress().text(T0) == "Nothing in progress\n"


def test_cluster_log_lines_and_health_transitions() -> None:
    log = ClusterLog("mon.a", "mon.0", capacity=3)
    down = HealthCheck("1 osds down", 1)
    before: dict[str, HealthCheck] = {}
    for checks in ({"OSD_DOWN": down}, {"OSD_DOWN": HealthCheck("2 osds down", 2)}, {}):
        for prio, msg in cluster_log.health_events(before, checks):
            log.add(T0, prio, msg)
        before = checks
    assert [e.message for e in log.last(10)] == [
        "Health check update: 2 osds down (OSD_DOWN)",
        "Health check cleared: OSD_DOWN (was: 2 osds down)",
        "Cluster is now healthy",
    ]  # the oldest line fell out of the ring
    assert log.last(1)[0].line().endswith(" mon.a (mon.0) 4 : cluster [INF] Cluster is now healthy")
    assert log.last(10, level="warn")[0].priority == "[WRN]"


def test_osdmap_changes_are_logged() -> None:
    mon = _cluster(4)
    before = mon.state.osdmap.copy()
    mon.ok("osd down 1")
    mon.ok("osd out 2")
    events = cluster_log.osdmap_events(before, mon.state.osdmap)
    assert events == [("[INF]", "osd.1 marked down"), ("[INF]", "osd.2 marked out")]
    assert cluster_log.marked_out_or_in(before, mon.state.osdmap) == [(2, "out")]


def test_up_screen_shows_recovery_progress() -> None:
    pgmap = {"degraded_objects": 300, "misplaced_objects": 100,
             "recovering_objects_per_sec": 20, "recovering_bytes_per_sec": 3 << 20}  # fmt: skip
    events = {"e1": {"message": "Global Recovery Event", "progress": 0.25,
                     "objects_recovered": 133, "bytes_recovered": 7 << 20}}  # fmt: skip
    recovery = parse_recovery(pgmap, events)
    assert recovery.lines() == [
        "Global Recovery Event",
        "[=======.....................]  25%  133 objects, 7 MiB recovered",
        "3 MiB/s, 20 objects/s; 400 objects to go, about 20s left",
    ]
    assert not parse_recovery({}, {}).active
