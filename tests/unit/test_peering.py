"""The peering core's pieces one by one: state strings, intervals, the prior set, and
small peering cases whose outcome is known (the simulation in tests/sim covers the
random ones)."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.common.eversion import Eversion
from radospy.osd.objectstore.types import ObjectId
from radospy.osd.peering import (
    BACKFILL_START,
    PastInterval,
    PastIntervals,
    PeerReport,
    PgState,
    PgView,
    Recovery,
    build_prior_set,
    enter_interval,
    merged_history,
    peer,
    pg_state,
    pg_state_string,
    record_started,
)
from radospy.osd.pglog import ZERO, LogEntry, LogOp, PgHistory, PgInfo, PgLog, PgMissing
from radospy.osdmap.pg import PgId

PGID = PgId(1, 0)
A, B = ObjectId("a"), ObjectId("b")


def view(epoch: int, acting: tuple[int, ...], up: tuple[int, ...] | None = None) -> PgView:
    up = acting if up is None else up
    return PgView(epoch, up, up[0] if up else -1, acting, acting[0] if acting else -1, 3, 2)


def report(entries: list[LogEntry], tail: Eversion = ZERO, les: int = 0) -> PeerReport:
    log = PgLog(tail, None, entries)
    info = PgInfo(PGID, log.head, log.head, tail, last_epoch_started=les)
    return PeerReport(info, log, PgMissing())


def mod(oid: ObjectId, epoch: int, version: int, prior: Eversion = ZERO) -> LogEntry:
    return LogEntry(LogOp.MODIFY, oid, Eversion(epoch, version), prior)


def test_state_strings_follow_cephs_order() -> None:
    assert pg_state_string(PgState.ACTIVE | PgState.CLEAN) == "active+clean"
    state = PgState.DEGRADED | PgState.UNDERSIZED | PgState.ACTIVE
    assert pg_state_string(state) == "active+undersized+degraded"
    state = PgState.ACTIVE | PgState.REMAPPED | PgState.BACKFILL_WAIT | PgState.DEGRADED
    assert pg_state_string(state) == "active+degraded+remapped+backfill_wait"
    assert pg_state_string(PgState.DOWN | PgState.PEERING) == "down+peering"
    assert pg_state_string(PgState.INCOMPLETE | PgState.PEERING) == "peering+incomplete"
    assert pg_state_string(PgState(0)) == "unknown"


def test_pg_state_from_progress() -> None:
    def s(**kw: int | bool) -> str:
        args: dict[str, int | bool] = {"active": True, "acting": 3, "size": 3, "missing": 0}
        args["backfill_targets"] = 0
        args.update(kw)
        return pg_state_string(pg_state(**args))  # type: ignore[arg-type]

    assert s() == "active+clean"
    assert s(acting=2) == "active+undersized+degraded"
    assert s(missing=3) == "active+recovery_wait+degraded"
    assert s(missing=3, recovering=True) == "active+recovering+degraded"
    assert s(backfill_targets=1, backfilling=True) == "active+degraded+backfilling"
    assert s(backfill_targets=1, remapped=True) == "active+degraded+remapped+backfill_wait"
    assert s(acting=1, serving=False) == "undersized+degraded+peered"


def test_intervals_close_on_acting_change_and_note_rw() -> None:
    past = PastIntervals()
    assert past.note(view(1, (0, 1, 2)))
    assert not past.note(view(2, (0, 1, 2)))
    assert past.note(view(3, (0, 1)))
    assert past.note(view(4, (0,)))
    assert past.note(view(6, (0, 1, 2)))
    assert [(iv.first, iv.last, iv.acting, iv.maybe_went_rw) for iv in past.intervals] == [
        (1, 2, (0, 1, 2), True),
        (3, 3, (0, 1), True),
        (4, 5, (0,), False),
    ]
    assert past.current_start == 6
    past.trim(3)
    assert [iv.first for iv in past.intervals] == [3, 4]


def test_up_thru_decides_whether_an_interval_went_rw() -> None:
    past = PastIntervals()
    past.note(view(4, (1, 2)))
    past.note(view(5, (0, 1, 2)))
    past.note(view(7, (0, 1)), primary_up_thru=4)
    assert not past.intervals[1].maybe_went_rw


def test_past_intervals_survive_a_restart() -> None:
    """Stored and loaded back, the intervals are the same; the first map after loading
    closes the interval then in progress over the epochs the OSD did not see, as maybe
    read-write when its acting set could serve (nothing tells otherwise)."""
    past = PastIntervals()
    past.note(view(1, (0, 1, 2)))
    past.note(view(4, (0, 1)), primary_up_thru=1)
    loaded = PastIntervals.decode(past.encode())
    assert loaded.intervals == past.intervals
    assert (loaded.current, loaded.current_start) == (past.current, 4)
    loaded.resume(view(9, (0, 2)))
    assert loaded.intervals[-1] == PastInterval(4, 8, (0, 1), (0, 1), 0, True)
    assert loaded.current_start == 9
    prior = build_prior_set(loaded.intervals, view(9, (0, 2)), {0, 2}.__contains__, 0)
    assert prior.down == {1} and not prior.pg_down
    # Too few to serve: the closed interval cannot have taken writes.
    alone = PastIntervals.decode(PastIntervals().encode())
    alone.note(view(2, (1,)))
    resumed = PastIntervals.decode(alone.encode())
    resumed.resume(view(6, (0, 1)))
    assert resumed.intervals == [PastInterval(2, 5, (1,), (1,), 1, False)]
    fresh = PastIntervals()
    fresh.resume(view(3, (0, 1)))
    assert fresh.intervals == [] and fresh.current_start == 3
    with pytest.raises(ValueError):
        PastIntervals.decode(b"\x93garbage")


def test_prior_set_and_down() -> None:
    past = PastIntervals()
    past.note(view(1, (0, 1, 2)))
    past.note(view(2, (3, 4)))
    past.note(view(3, (0, 1, 2)))
    up = {0, 1, 2}.__contains__
    prior = build_prior_set(past.intervals, view(3, (0, 1, 2)), up, 0)
    assert prior.pg_down and prior.blocked_by == {3, 4}
    prior = build_prior_set(past.intervals, view(3, (0, 1, 2)), {0, 1, 2, 4}.__contains__, 0)
    assert not prior.pg_down and prior.probe == {0, 1, 2, 4} and prior.down == {3}


def test_prior_set_skips_intervals_before_the_last_activation() -> None:
    """(3, 4) took writes, then (0, 1, 2) went active at epoch 3: its copies hold them,
    so (3, 4) being down does not keep the PG down (Ceph's ``iterate_mayberw_back_to``);
    an interval at or after that epoch still counts."""
    past = PastIntervals()
    past.note(view(1, (3, 4)))
    past.note(view(3, (0, 1, 2)))
    past.note(view(5, (0, 1)))
    up = {0, 2}.__contains__
    assert build_prior_set(past.intervals, view(5, (0, 1)), up, 0).pg_down
    prior = build_prior_set(past.intervals, view(5, (0, 1)), up, 3)
    assert not prior.pg_down and prior.down == {1} and prior.probe == {0, 2}
    assert build_prior_set(past.intervals, view(5, (0, 1)), {0}.__contains__, 4).probe == {0}


def test_merged_history_takes_the_newest_epochs() -> None:
    histories = [
        PgHistory(epoch_created=1, last_epoch_started=7, last_epoch_clean=5),
        PgHistory(epoch_created=1, last_epoch_started=4, last_epoch_clean=6),
        PgHistory(),
    ]
    merged = merged_history(histories)
    assert (merged.last_epoch_started, merged.last_epoch_clean) == (7, 6)
    assert merged_history([]) == PgHistory()


def test_activated_members_take_the_primarys_history() -> None:
    """A replica learns when the PG was last clean from the primary at activation, so
    that it trims its intervals the same way should it peer later."""
    base = [mod(A, 1, 1)]
    mine = report(base, les=1)
    clean = PgHistory(last_epoch_started=1, last_epoch_clean=2)
    mine = PeerReport(msgspec.structs.replace(mine.info, history=clean), mine.log, mine.missing)
    reports = {0: mine, 1: report(base, les=1), 2: report(base, les=1)}
    v = view(4, (0, 1, 2))
    result = peer(0, v, build_prior_set([], v, bool, 2), reports, 4)
    assert result.ok
    assert result.started == 4
    for member in result.members.values():
        assert member.info.history.last_epoch_clean == 2
        # Each member's own epoch now; the history's once every member activated.
        assert member.info.last_epoch_started == 4
        assert member.info.history.last_epoch_started == 1
        assert record_started(member.info, 4).history.last_epoch_started == 4


def test_record_started_never_moves_the_history_back() -> None:
    info = PgInfo(PGID, history=PgHistory(last_epoch_started=7))
    assert record_started(info, 5) is info
    assert record_started(info, 9).history == PgHistory(last_epoch_started=9)


def test_a_peered_activation_starts_no_epoch() -> None:
    alone = PgView(5, (2,), 2, (2,), 2, 3, 2)
    result = peer(2, alone, build_prior_set([], alone, bool, 0), {2: report([], les=1)}, 5)
    assert result.ok and result.started == 0


def test_a_primary_backfilled_from_a_copy_missing_objects_pulls_those_elsewhere() -> None:
    """osd.1, the authoritative copy, activated but had not yet recovered A (osd.2 has
    it): the primary backfilled from osd.1 does not copy osd.1's stale A but lists it
    missing, with osd.2 as its source, and is complete only up to before A."""
    entries = [mod(B, 2, 2), mod(A, 2, 3, Eversion(1, 1))]
    auth = report(entries, tail=Eversion(1, 1), les=3)
    missing = PgMissing()
    missing.add(A, Eversion(2, 3), Eversion(1, 1))
    auth = PeerReport(
        msgspec.structs.replace(auth.info, last_complete=Eversion(2, 2)), auth.log, missing
    )
    # A shorter log than osd.1's, which is why osd.1's is authoritative.
    holder = report(entries[1:], tail=Eversion(2, 2), les=2)
    empty = PeerReport(PgInfo(PGID), PgLog(ZERO, None, []), PgMissing())
    v = PgView(4, (0, 1), 0, (0, 1), 0, 3, 3)  # min_size 3: no pg_temp to ask for
    prior = build_prior_set([], v, bool, 0)
    result = peer(0, v, prior, {0: empty, 1: auth, 2: holder}, 4)
    assert result.ok and result.auth == 1
    mine = result.members[0]
    assert mine.recovery is Recovery.BACKFILL
    assert list(mine.missing) == [A] and mine.missing.items()[A].need == Eversion(2, 3)
    assert mine.info.last_complete == Eversion(2, 2)
    assert result.sources[A] == [2]


def test_peer_takes_the_newest_log_and_plans_log_recovery() -> None:
    base = [mod(A, 1, 1), mod(B, 1, 2)]
    newer = [*base, mod(A, 2, 3, Eversion(1, 1))]
    reports = {0: report(base, les=1), 1: report(newer, les=1), 2: report(base, les=1)}
    v = view(3, (0, 1, 2))
    result = peer(0, v, build_prior_set([], v, bool, 0), reports, 3)
    assert result.ok and result.auth == 1
    assert result.log is not None and result.log.head == Eversion(2, 3)
    assert result.members[0].recovery is Recovery.LOG
    assert list(result.members[0].missing) == [A]
    assert result.sources[A] == [1]
    assert result.members[1].recovery is Recovery.NONE
    assert list(result.members[2].missing) == [A]
    assert all(m.info.last_epoch_started == 3 for m in result.members.values())


def test_peer_backfills_a_member_behind_the_log_tail() -> None:
    entries = [mod(A, 1, 5, Eversion(1, 1)), mod(B, 1, 6)]
    trimmed = report(entries, tail=Eversion(1, 4), les=1)
    old = report([mod(A, 1, 1)], les=1)
    reports = {0: trimmed, 1: trimmed, 2: old}
    v = view(3, (0, 1, 2))
    result = peer(0, v, build_prior_set([], v, bool, 0), reports, 3)
    assert result.ok
    assert result.members[2].recovery is Recovery.BACKFILL
    assert result.members[2].info.last_backfill == BACKFILL_START


def test_peer_asks_for_pg_temp_when_the_up_set_cannot_serve() -> None:
    entries = [mod(A, 1, 5, Eversion(1, 1))]
    full = report(entries, tail=Eversion(1, 4), les=1)
    empty = PeerReport(PgInfo(PGID), PgLog(), PgMissing())
    reports = {0: full, 3: empty, 4: empty, 1: full}
    v = view(3, (0, 3, 4))
    result = peer(0, v, build_prior_set([], v, bool, 0), reports, 3)
    assert not result.ok and result.want_acting == (0, 1)
    assert pg_state_string(result.state) == "remapped+peering"


def test_peer_goes_peered_without_enough_complete_copies() -> None:
    """Too few complete copies for min_size and nobody to stand in: activate for
    recovery only (``peered``), as Ceph does by default."""
    entries = [mod(A, 1, 5, Eversion(1, 1))]
    full = report(entries, tail=Eversion(1, 4), les=1)
    empty = PeerReport(PgInfo(PGID), PgLog(), PgMissing())
    v = view(3, (0, 3, 4))
    result = peer(0, v, build_prior_set([], v, bool, 0), {0: full, 3: empty, 4: empty}, 3)
    assert result.ok
    assert [result.members[o].recovery for o in (3, 4)] == [Recovery.BACKFILL] * 2


def test_peer_is_incomplete_without_a_usable_log() -> None:
    backfilling = report([mod(A, 1, 1)], les=1)
    partial = PeerReport(
        msgspec.structs.replace(backfilling.info, last_backfill=A), backfilling.log, PgMissing()
    )
    v = view(3, (0, 1))
    result = peer(0, v, build_prior_set([], v, bool, 0), {0: partial, 1: partial}, 3)
    # Ceph's Incomplete state clears "peering".
    assert not result.ok and pg_state_string(result.state) == "incomplete"


def test_a_peered_activation_does_not_outrank_copies_that_took_writes() -> None:
    """osd.2 was down while osd.0 and osd.1 took writes; then osd.2 alone peers (too
    few copies to serve). Its stale copy must not become authoritative when osd.0
    comes back: the writes osd.0 holds are kept, not rolled back as divergent."""
    base = [mod(A, 1, 1), mod(B, 1, 2)]
    newer = [*base, mod(A, 2, 3, Eversion(1, 1))]
    alone = PgView(5, (2,), 2, (2,), 2, 3, 2)
    peered = peer(2, alone, build_prior_set([], alone, bool, 0), {2: report(base, les=1)}, 5)
    assert peered.ok
    stale = peered.members[2].info
    assert stale.last_epoch_started == 1
    back = PgView(6, (2, 0), 2, (2, 0), 2, 3, 2)
    reports = {2: PeerReport(stale, PgLog(ZERO, None, base), PgMissing()),
               0: report(newer, les=2)}  # fmt: skip
    result = peer(2, back, build_prior_set([], back, bool, 0), reports, 6)
    assert result.ok and result.auth == 0
    assert result.log is not None and result.log.head == Eversion(2, 3)
    assert list(result.members[2].missing) == [A]


def test_an_activation_of_min_size_members_starts_an_epoch_while_one_is_backfilled() -> None:
    """osd.0 (primary) must be backfilled from osd.1: too few complete copies to serve
    yet, but this acting set serves writes in this interval once the backfill ends, so
    its members take the new last_epoch_started now (as Ceph's activate does whenever
    the acting set reaches min_size). Otherwise a copy from an older interval could
    later outrank the writes of this one."""
    behind_tail = report([mod(A, 2, 2), mod(B, 2, 3)], tail=Eversion(1, 1), les=2)
    empty = PeerReport(PgInfo(PGID), PgLog(ZERO, None, []), PgMissing())
    v = view(4, (0, 1))
    result = peer(0, v, build_prior_set([], v, bool, 0), {0: empty, 1: behind_tail}, 4)
    assert result.ok and result.members[0].recovery is Recovery.BACKFILL
    assert result.members[1].info.last_epoch_started == 4


def test_a_primary_back_from_dying_mid_activation_does_not_roll_back_newer_copies() -> None:
    """The sequence of the peering simulation's seed 5429 (p 0.25), which lost a write.

    osd.0 and osd.1 acknowledge A at 2'2; a write of A at 2'3 reaches osd.0 only
    before it goes down. osd.2 peers as primary with osd.1 in epoch 4, adopts osd.1's
    log, stores its own last_epoch_started 4 and dies before pulling A or activating
    osd.1. osd.1, alone, peers (``peered``) with osd.0 back as a stray: osd.0's log is
    the newest, so osd.1 recovers A at 2'3 over the 2'2 it acknowledged. When osd.2
    returns, its epoch 4 only bounds what was acknowledged (2'2): osd.1's newer log
    qualifies and wins (Ceph's min_last_update_acceptable). Preferring osd.2's log for
    its newer epoch would make A's 2'3 divergent and need 2'2, which no copy holds.
    """
    base = [mod(A, 1, 1)]
    acked = [*base, mod(A, 2, 2, Eversion(1, 1))]
    osd0 = report([*acked, mod(A, 2, 3, Eversion(2, 2))], les=2)
    osd1 = report(acked, les=2)
    v4 = view(4, (2, 1))
    started = peer(2, v4, build_prior_set([], v4, bool, 0), {2: report(base, les=1), 1: osd1}, 4)
    assert started.ok and started.auth == 1 and started.started == 4
    assert started.log is not None
    mine = started.members[2]
    assert mine.info.last_epoch_started == 4 and list(mine.missing) == [A]
    # osd.2 stored that and died.
    osd2 = PeerReport(mine.info, started.log.copy(), mine.missing.copy())

    v5 = view(5, (1,))
    alone = peer(1, v5, build_prior_set([], v5, bool, 0), {1: osd1, 0: osd0}, 5)
    assert alone.ok and alone.started == 0 and alone.auth == 0
    assert alone.log is not None and alone.sources == {A: [0]}
    assert alone.members[1].missing.items()[A].need == Eversion(2, 3)
    # osd.1 pulled A at 2'3 from osd.0: complete, with the log up to 2'3.
    info1 = alone.members[1].info
    info1 = msgspec.structs.replace(info1, last_complete=info1.last_update)
    assert info1.last_epoch_started == 2
    osd1 = PeerReport(info1, alone.log.copy(), PgMissing())

    v6 = view(6, (2, 1))
    back = peer(2, v6, build_prior_set([], v6, bool, 0), {2: osd2, 1: osd1}, 6)
    assert back.ok and back.auth == 1
    assert back.log is not None and back.log.head == Eversion(2, 3)
    assert back.members[2].missing.items()[A].need == Eversion(2, 3)
    assert back.sources == {A: [1]}
    assert back.members[1].recovery is Recovery.NONE


def test_a_primary_adopting_a_log_takes_its_epoch_and_history() -> None:
    """osd.2 and osd.1, too few to serve (``peered``), adopt the log of osd.0, a stray
    that went active in epoch 3: as Ceph's proc_master_log, the primary takes the newer
    last_epoch_started of the two and merges osd.0's history (every answer's, as
    proc_replica_info does), so that what it stores says what its log now holds; the
    replica takes the primary's epoch (Ceph's activate)."""
    base = [mod(A, 1, 1)]
    stale = report(base, les=1)
    newer = report([*base, mod(B, 3, 2)], les=3)
    newer = PeerReport(
        msgspec.structs.replace(
            newer.info, history=PgHistory(last_epoch_started=3, last_epoch_clean=2)
        ),
        newer.log,
        newer.missing,
    )
    cleaner = report(base, les=1)
    cleaner = PeerReport(
        msgspec.structs.replace(cleaner.info, history=PgHistory(last_epoch_clean=4)),
        cleaner.log,
        cleaner.missing,
    )
    peered = PgView(5, (2, 1), 2, (2, 1), 2, 3, 3)
    prior = build_prior_set([], peered, bool, 0)
    result = peer(2, peered, prior, {2: stale, 0: newer, 1: cleaner}, 5)
    assert result.ok and result.auth == 0 and result.started == 0
    assert result.info is not None
    assert result.info.last_epoch_started == 3
    assert result.info.history == PgHistory(last_epoch_started=3, last_epoch_clean=4)
    replica = result.members[1]
    assert replica.recovery is Recovery.LOG
    assert replica.info.last_epoch_started == 3
    assert replica.info.history == result.info.history


def test_a_primary_backfilled_while_peered_keeps_its_newer_epoch() -> None:
    """osd.0 went active in epoch 5 and its log shares no entry with osd.1's, whose own
    epoch is older: osd.0 alone backfills itself from osd.1 (``peered``). Its copy then
    holds what its epoch 5 vouches for, so it keeps that epoch; taking osd.1's older
    one under a history that says 5 left no complete copy reaching it, and the PG
    incomplete for good once osd.1 was gone."""
    own = report([mod(A, 5, 1), mod(B, 5, 2)], les=5)
    own = PeerReport(
        msgspec.structs.replace(own.info, history=PgHistory(last_epoch_started=5)),
        own.log,
        own.missing,
    )
    source = report([mod(A, 5, 4, Eversion(5, 1)), mod(B, 5, 5)], tail=Eversion(5, 3), les=3)
    alone = PgView(6, (0,), 0, (0,), 0, 3, 2)
    result = peer(0, alone, build_prior_set([], alone, bool, 0), {0: own, 1: source}, 6)
    assert result.ok and result.auth == 1 and result.started == 0
    assert result.log is not None
    mine = result.members[0]
    assert mine.recovery is Recovery.BACKFILL
    assert mine.info.last_epoch_started == 5
    assert mine.info.history.last_epoch_started == 5

    # The backfill done, osd.1 goes away: osd.0's complete copy is enough.
    done = msgspec.structs.replace(mine.info, last_backfill=None)
    later = PgView(7, (0,), 0, (0,), 0, 3, 2)
    reports = {0: PeerReport(done, result.log.copy(), PgMissing())}
    again = peer(0, later, build_prior_set([], later, bool, 5), reports, 7)
    assert again.ok and again.auth == 0


def test_enter_interval_moves_only_what_changed() -> None:
    history = PgHistory(epoch_created=1, same_up_since=3, same_interval_since=4,
                        same_primary_since=3)  # fmt: skip
    old = view(4, (0, 1, 2))
    # The acting set changed (pg_temp), not the up set nor the primary.
    temp = enter_interval(history, old, view(6, (0, 2), up=(0, 1, 2)))
    assert (temp.same_up_since, temp.same_interval_since, temp.same_primary_since) == (3, 6, 3)
    # osd.0 went down: up set and primary change.
    down = enter_interval(history, old, view(7, (1, 2)))
    assert (down.same_up_since, down.same_interval_since, down.same_primary_since) == (7, 7, 7)
    # An unknown previous view (first map, or maps skipped) moves all three.
    first = enter_interval(history, None, old)
    assert (first.same_up_since, first.same_interval_since, first.same_primary_since) == (4, 4, 4)
    assert first.epoch_created == 1


_SETS = st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True).map(tuple)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_SETS, _SETS, st.integers(1, 3)), min_size=1, max_size=12))
def test_enter_interval_tracks_when_each_set_last_changed(
    maps: list[tuple[tuple[int, ...], tuple[int, ...], int]],
) -> None:
    """Fed every map, as an OSD's map handling does: ``same_interval_since`` is where
    the past intervals say the current one began, ``same_up_since`` and
    ``same_primary_since`` the first epoch of the last run of maps with that up set
    (and up primary) and that acting primary."""
    past, history = PastIntervals(), PgHistory()
    views = [
        PgView(epoch, up, up[0], acting, acting[0], 3, min_size)
        for epoch, (up, acting, min_size) in enumerate(maps, start=1)
    ]
    for v in views:
        before = past.current
        if past.note(v):
            history = enter_interval(history, before, v)

    def run_start(pick: Callable[[PgView], object]) -> int:
        start = views[-1].epoch
        for v in reversed(views):
            if pick(v) != pick(views[-1]):
                break
            start = v.epoch
        return start

    assert history.same_interval_since == past.current_start
    assert history.same_up_since == run_start(lambda v: (v.up, v.up_primary))
    assert history.same_primary_since == run_start(lambda v: v.primary)


def test_record_started_notes_the_interval_it_started_in() -> None:
    info = PgInfo(PGID, history=PgHistory(last_epoch_started=7, same_interval_since=9))
    started = record_started(info, 10).history
    assert (started.last_epoch_started, started.last_interval_started) == (10, 9)
