"""The PG log core: dedup, trimming, merging divergent logs, missing sets, codecs.

The central property test simulates a PG on three OSDs through random intervals:
primaries change, writes reach only part of the acting set when an interval ends
(divergent entries), logs are trimmed, members fall behind or are backfilled. At every
peering it checks what Ceph's peering relies on: after merging, every member's objects
(stored, or missing at the needed version) equal the authoritative member's; missing
sets are exact and minimal; the primary's view of a replica's missing set equals the
one the replica computes itself; reqid lookups find recent ops and never divergent ones.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.common.eversion import Eversion
from radospy.common.types import ReqId
from radospy.osd.objectstore.types import ObjectId
from radospy.osd.pglog import (
    OSD_MAX_PG_LOG_ENTRIES,
    OSD_MIN_PG_LOG_ENTRIES,
    ZERO,
    LogDup,
    LogEntry,
    LogOp,
    MissingItem,
    PgHistory,
    PgInfo,
    PgLog,
    PgLogError,
    PgMissing,
    calc_trim_to,
    catch_up_missing,
    find_best_info,
    last_complete_for,
    last_shared,
    needs_backfill,
    proc_replica_log,
    target_log_entries,
)
from radospy.osdmap.pg import PgId

T = TypeVar("T")
PGID = PgId(1, 0)
A, B, C = ObjectId("a"), ObjectId("b"), ObjectId("c")


def ev(epoch: int, version: int) -> Eversion:
    return Eversion(epoch, version)


def rid(tid: int) -> ReqId:
    return ReqId("client.4100", 0, tid)


def modify(oid: ObjectId, v: Eversion, prior: Eversion = ZERO, tid: int | None = None) -> LogEntry:
    return LogEntry(LogOp.MODIFY, oid, v, prior, rid(tid) if tid is not None else None)


def delete(oid: ObjectId, v: Eversion, prior: Eversion, tid: int | None = None) -> LogEntry:
    return LogEntry(LogOp.DELETE, oid, v, prior, rid(tid) if tid is not None else None)


def info_of(log: PgLog, missing: PgMissing | None = None) -> PgInfo:
    missing = missing or PgMissing()
    return PgInfo(
        PGID,
        last_update=log.head,
        last_complete=last_complete_for(log, log.head, missing),
        log_tail=log.tail,
    )


# --- types and printing ---------------------------------------------------------------


def test_reqid_prints_and_parses_like_ceph() -> None:
    r = ReqId("client.4167", 0, 100201)
    assert str(r) == "client.4167.0:100201"
    assert ReqId.parse("client.4167.0:100201") == r
    assert ReqId.parse("osd.3.7:12") == ReqId("osd.3", 7, 12)


@pytest.mark.parametrize("bad", ["", "client.1", "client.1.0", "client.1.0:", "x:1", "1.2:3"])
def test_reqid_parse_rejects(bad: str) -> None:
    with pytest.raises(Exception, match="invalid reqid"):
        ReqId.parse(bad)


def test_log_entry_prints_like_ceph() -> None:
    e = LogEntry(LogOp.MODIFY, A, ev(37, 12), ev(37, 11), ReqId("client.4100", 0, 7))
    assert str(e) == "37'12 (37'11) modify a by client.4100.0:7 0 0"
    assert str(LogOp.DELETE) == "delete"
    assert str(LogOp.ERROR) == "error"


def test_log_entry_kinds() -> None:
    assert modify(A, ev(1, 1)).is_update
    assert delete(A, ev(1, 2), ev(1, 1)).is_delete
    err = LogEntry(LogOp.ERROR, A, ev(1, 3), reqid=rid(1), return_code=-errno.ENOENT)
    assert err.is_error and err.reqid_is_indexed and not err.is_update
    assert not LogEntry(LogOp.CLONE, ObjectId("a", snap=4), ev(1, 4), ev(1, 1)).reqid_is_indexed
    assert not modify(A, ev(1, 5)).reqid_is_indexed


def test_log_entry_prior_must_precede_version() -> None:
    with pytest.raises(ValueError):
        modify(A, ev(2, 5), ev(2, 5))


# --- append, lookup, copy_after ----------------------------------------------------------


def test_append_requires_strictly_increasing_versions() -> None:
    log = PgLog()
    log.append(modify(A, ev(3, 1)))
    for bad in (ev(3, 1), ev(2, 9), ev(4, 1)):
        with pytest.raises(PgLogError):
            log.append(modify(B, bad))
    log.append(modify(B, ev(4, 2)))
    assert log.head == ev(4, 2) and len(log) == 2


def test_check_append_refuses_without_changing_the_log() -> None:
    """A replica asks before it applies a replicated transaction: a restarted primary
    that lost 3'1 may send 4'1, which must be refused with nothing changed."""
    log = PgLog()
    log.append(modify(A, ev(3, 1)))
    with pytest.raises(PgLogError):
        log.check_append(modify(A, ev(4, 1)))
    assert log.head == ev(3, 1) and len(log) == 1
    log.check_append(modify(A, ev(4, 2)))
    assert log.head == ev(3, 1)


def test_lookup_reqid_gives_version_and_result() -> None:
    log = PgLog()
    log.append(LogEntry(LogOp.MODIFY, A, ev(1, 1), reqid=rid(1), user_version=1))
    log.append(LogEntry(LogOp.ERROR, B, ev(1, 2), reqid=rid(2), return_code=-errno.ENOENT))
    assert log.lookup_reqid(rid(1)) == LogDup(rid(1), ev(1, 1), 1, 0)
    assert log.lookup_reqid(rid(2)) == LogDup(rid(2), ev(1, 2), 0, -errno.ENOENT)
    assert log.lookup_reqid(rid(3)) is None


def test_error_entries_do_not_shadow_the_objects_last_change() -> None:
    log = PgLog(entries=[modify(A, ev(1, 1))])
    log.append(LogEntry(LogOp.ERROR, A, ev(1, 2), reqid=rid(9), return_code=-errno.EEXIST))
    assert log.latest(A) == modify(A, ev(1, 1))


def test_copy_after_starts_at_the_newest_entry_not_after_the_version() -> None:
    log = PgLog(ev(1, 2), entries=[modify(A, ev(1, 3)), modify(B, ev(1, 5)), modify(C, ev(2, 6))])
    part = log.copy_after(ev(1, 5))
    assert (part.tail, part.head, list(part)) == (ev(1, 5), ev(2, 6), [modify(C, ev(2, 6))])
    assert log.copy_after(ev(1, 4)).tail == ev(1, 3)
    assert log.copy_after(ev(1, 2)).tail == ev(1, 2)
    with pytest.raises(PgLogError):
        log.copy_after(ev(1, 1))


def test_rewind_restores_the_objects_previous_entry() -> None:
    log = PgLog(entries=[modify(A, ev(1, 1), tid=1), modify(A, ev(1, 2), ev(1, 1), tid=2)])
    assert log.rewind_to(ev(1, 1)) == [modify(A, ev(1, 2), ev(1, 1), tid=2)]
    assert log.latest(A) == modify(A, ev(1, 1), tid=1)
    assert log.lookup_reqid(rid(2)) is None and log.lookup_reqid(rid(1)) is not None


# --- trimming and dups ---------------------------------------------------------------------


def test_trim_keeps_dups_within_the_tracked_window() -> None:
    log = PgLog(entries=[modify(A, ev(1, v), tid=v) for v in range(1, 11)])
    result = log.trim(ev(1, 8), dups_tracked=4)
    assert [e.version.version for e in result.trimmed] == list(range(1, 9))
    # Versions 7..10 are within 4 of the head (10): 7 and 8 become dups.
    assert [d.version.version for d in result.new_dups] == [7, 8]
    assert log.tail == ev(1, 8) and len(log) == 2
    assert log.lookup_reqid(rid(7)) == LogDup(rid(7), ev(1, 7), 0, 0)
    assert log.lookup_reqid(rid(6)) is None
    assert log.trim(ev(1, 8)).trimmed == ()
    with pytest.raises(PgLogError):
        log.trim(ev(1, 11))


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(1, 12), st.booleans()), min_size=1, max_size=60),
    dups_tracked=st.integers(1, 10),
)
def test_dedup_survives_trims_within_the_tracked_window(
    steps: list[tuple[int, bool]], dups_tracked: int
) -> None:
    """Every op within `dups_tracked` versions of the head is found after any trims;
    nothing is ever found with a wrong version or result."""
    log = PgLog()
    results: dict[ReqId, LogDup] = {}
    for count, do_trim in steps:
        for _ in range(count):
            v = ev(1, log.head.version + 1)
            rc = -errno.ENOENT if v.version % 5 == 0 else 0
            op = LogOp.ERROR if rc else LogOp.MODIFY
            reqid = rid(v.version)
            entry = LogEntry(op, A, v, reqid=reqid, user_version=v.version, return_code=rc)
            log.append(entry)
            results[reqid] = LogDup.of(entry)
        if do_trim and len(log) > 2:
            log.trim(log.entries[len(log) // 2].version, dups_tracked=dups_tracked)
            assert len(log.dups) <= dups_tracked
        for reqid, expected in results.items():
            found = log.lookup_reqid(reqid)
            assert found is None or found == expected
            if expected.version.version > log.head.version - dups_tracked:
                assert found == expected


def test_target_log_entries_spreads_the_osd_budget() -> None:
    assert (OSD_MIN_PG_LOG_ENTRIES, OSD_MAX_PG_LOG_ENTRIES) == (250, 10000)
    assert target_log_entries(0) == 250
    assert target_log_entries(10) == 10000
    assert target_log_entries(100) == 3000
    assert target_log_entries(3000) == 250


def test_calc_trim_to_keeps_target_and_batches() -> None:
    log = PgLog(entries=[modify(A, ev(1, v)) for v in range(1, 21)])
    assert calc_trim_to(log, target=5, limit=ev(1, 20), trim_min=1) == ev(1, 15)
    assert calc_trim_to(log, target=5, limit=ev(1, 20), trim_min=1, trim_max=4) == ev(1, 4)
    # Never past what every acting member has complete.
    assert calc_trim_to(log, target=5, limit=ev(1, 9), trim_min=1) == ev(1, 9)
    assert calc_trim_to(log, target=5, limit=ev(1, 20), trim_min=16) is None
    assert calc_trim_to(log, target=20, limit=ev(1, 20), trim_min=1) is None
    assert calc_trim_to(log, target=5, limit=ZERO, trim_min=1) is None


# --- missing sets ----------------------------------------------------------------------------


def test_add_next_event() -> None:
    m = PgMissing()
    m.add_next_event(modify(A, ev(1, 2), ev(1, 1)))
    assert m.get(A) == MissingItem(ev(1, 2), ev(1, 1))
    m.add_next_event(modify(A, ev(1, 3), ev(1, 2)))
    assert m.get(A) == MissingItem(ev(1, 3), ev(1, 1))  # still have the 1'1 copy
    m.add_next_event(modify(B, ev(1, 4)))
    assert m.get(B) == MissingItem(ev(1, 4), ZERO)
    m.add_next_event(LogEntry(LogOp.ERROR, C, ev(1, 5), reqid=rid(1), return_code=-2))
    assert C not in m
    m.add_next_event(delete(A, ev(1, 6), ev(1, 3)))
    assert A not in m and len(m) == 1
    m.got(B, ev(1, 4))
    assert len(m) == 0
    with pytest.raises(PgLogError):
        m.got(B, ev(1, 4))


# --- merging: Ceph's cases, by hand -------------------------------------------------------------


def base_log() -> PgLog:
    return PgLog(
        entries=[modify(A, ev(1, 1), tid=1), modify(B, ev(1, 2), tid=2), modify(C, ev(1, 3), tid=3)]
    )


def test_divergent_update_is_recovered_at_its_prior_version() -> None:
    """Case 5: a replica applied an update nobody else has; it must refetch the prior."""
    auth = base_log()
    auth.append(modify(B, ev(3, 4), ev(1, 2), tid=5))
    mine = base_log()
    mine.append(modify(A, ev(2, 4), ev(1, 1), tid=4))  # divergent
    missing = PgMissing()
    result = mine.merge_log(auth, info_of(auth), info_of(mine), missing)
    assert result.divergent == (modify(A, ev(2, 4), ev(1, 1), tid=4),)
    assert result.remove == {A}
    assert missing.items() == {A: MissingItem(ev(1, 1)), B: MissingItem(ev(3, 4), ev(1, 2))}
    assert result.info.last_update == ev(3, 4) and mine.head == ev(3, 4)
    assert result.info.last_complete == ZERO  # 1'1 itself is missing
    assert mine.lookup_reqid(rid(4)) is None and mine.lookup_reqid(rid(5)) is not None


def test_divergent_creation_is_removed_not_recovered() -> None:
    """Case 2: the object did not exist before the divergent entries."""
    auth = base_log()
    mine = base_log()
    d = ObjectId("d")
    mine.append(modify(d, ev(2, 4), tid=4))
    mine.append(modify(d, ev(2, 5), ev(2, 4), tid=5))
    missing = PgMissing()
    result = mine.merge_log(auth, info_of(auth), info_of(mine), missing)
    assert result.remove == {d} and len(missing) == 0
    assert result.info.last_update == ev(1, 3) == result.info.last_complete


def test_divergent_delete_leaves_nothing_to_remove() -> None:
    auth = base_log()
    mine = base_log()
    mine.append(delete(A, ev(2, 4), ev(1, 1), tid=4))
    missing = PgMissing()
    result = mine.merge_log(auth, info_of(auth), info_of(mine), missing)
    assert result.remove == frozenset()  # the delete already removed it
    assert missing.items() == {A: MissingItem(ev(1, 1))}


def test_divergent_entry_superseded_by_the_authoritative_log() -> None:
    """Case 1: the authoritative log changed the object later; recover that version."""
    auth = base_log()
    auth.append(modify(A, ev(3, 4), ev(1, 1), tid=6))
    mine = base_log()
    mine.append(modify(A, ev(2, 4), ev(1, 1), tid=4))
    missing = PgMissing()
    result = mine.merge_log(auth, info_of(auth), info_of(mine), missing)
    assert result.remove == {A}
    assert missing.items() == {A: MissingItem(ev(3, 4), ZERO)}


def test_divergent_entry_on_a_missing_object() -> None:
    """Case 3: the object was missing anyway; adjust what is needed."""
    auth = base_log()
    mine = base_log()
    mine.append(modify(A, ev(2, 4), ev(1, 1), tid=4))
    missing = PgMissing({A: MissingItem(ev(2, 4), ZERO)})
    result = mine.merge_log(auth, info_of(auth), info_of(mine, missing), missing)
    assert result.remove == frozenset()
    assert missing.items() == {A: MissingItem(ev(1, 1), ZERO)}
    missing = PgMissing({A: MissingItem(ev(2, 4), ev(1, 1))})
    mine = base_log()
    mine.append(modify(A, ev(2, 4), ev(1, 1), tid=4))
    mine.merge_log(auth, info_of(auth), info_of(mine, missing), missing)
    assert len(missing) == 0  # the stored copy is the right one


def test_merge_finds_where_the_logs_part_below_the_copys_head() -> None:
    """The peering simulation's seed 136 (p 0.25): a copy took C at 3'4 in an interval
    that had thrown B's 2'4 out as divergent; a later peering without that copy took
    2'4 back (its copy qualified, newer than what was acknowledged) and the PG wrote
    A at 5'5. The copy's log holds 1'3, not 2'4, although its head is past 2'4: the
    logs part at 1'3, so the copy lacks B's 2'4 and its C 3'4 is divergent."""
    auth = base_log()
    auth.append(modify(B, ev(2, 4), ev(1, 2), tid=4))
    auth.append(modify(A, ev(5, 5), ev(1, 1), tid=6))
    mine = base_log()
    mine.append(modify(C, ev(3, 4), ev(1, 3), tid=5))
    stale = mine.copy()
    assert last_shared(auth, mine) == ev(1, 3)
    view = proc_replica_log(auth, info_of(mine), mine, PgMissing())
    assert view.info.last_update == ev(1, 3)
    peer_missing = catch_up_missing(auth, view.info, view.missing)
    missing = PgMissing()
    result = mine.merge_log(auth, info_of(auth), info_of(mine), missing)
    assert result.divergent == (modify(C, ev(3, 4), ev(1, 3), tid=5),)
    assert result.remove == {C}
    assert missing.items() == {
        C: MissingItem(ev(1, 3)),
        B: MissingItem(ev(2, 4), ev(1, 2)),
        A: MissingItem(ev(5, 5), ev(1, 1)),
    }
    assert missing == peer_missing
    assert [e.version for e in mine.entries] == [e.version for e in auth.entries]
    # Trimmed past where they part, the log cannot catch the copy up.
    trimmed = auth.copy()
    trimmed.trim(ev(2, 4))
    assert last_shared(trimmed, stale) is None
    assert needs_backfill(trimmed, info_of(stale), stale)


def test_merge_extends_the_tail_with_older_history() -> None:
    auth = base_log()
    mine = PgLog(ev(1, 2), entries=[modify(C, ev(1, 3), tid=3)])
    result = mine.merge_log(auth, info_of(auth), info_of(mine), PgMissing())
    assert mine.tail == ZERO and len(mine) == 3 and result.info.log_tail == ZERO
    assert mine.lookup_reqid(rid(1)) is not None


def test_merge_refuses_logs_that_do_not_overlap() -> None:
    auth = PgLog(ev(2, 10), entries=[modify(A, ev(2, 11), ev(1, 1))])
    mine = base_log()
    assert needs_backfill(auth, info_of(mine), mine)
    with pytest.raises(PgLogError):
        mine.merge_log(auth, info_of(auth), info_of(mine), PgMissing())
    with pytest.raises(PgLogError):
        PgLog().merge_log(auth, info_of(auth), info_of(PgLog()), PgMissing())
    assert not needs_backfill(auth, info_of(PgLog(ev(2, 10))), PgLog(ev(2, 10)))
    incomplete = msgspec.structs.replace(info_of(auth), last_backfill=A)
    assert needs_backfill(auth, incomplete, auth)


def test_proc_replica_log_matches_the_replicas_own_merge() -> None:
    auth = base_log()
    auth.append(modify(B, ev(3, 4), ev(1, 2), tid=5))
    replica = base_log()
    replica.append(modify(A, ev(2, 4), ev(1, 1), tid=4))
    view = proc_replica_log(auth, info_of(replica), replica, PgMissing())
    assert view.info.last_update == ev(1, 3)
    assert view.missing.items() == {A: MissingItem(ev(1, 1))}
    assert view.info.last_complete == ZERO
    peer_missing = catch_up_missing(auth, view.info, view.missing)
    own = PgMissing()
    replica.merge_log(auth.copy_after(view.info.last_update), info_of(auth), info_of(replica), own)
    assert own == peer_missing
    assert len(replica) == 4 and replica.head == ev(3, 4)


def test_find_best_info() -> None:
    def info(
        lu: Eversion, les: int, tail: Eversion = ZERO, last_backfill: ObjectId | None = None
    ) -> PgInfo:
        return PgInfo(
            PGID,
            last_update=lu,
            last_complete=lu,
            log_tail=tail,
            last_epoch_started=les,
            history=PgHistory(last_epoch_started=les),
            last_backfill=last_backfill,
        )

    # Newest last_update among those that went active last, whatever else is newer.
    infos = {0: info(ev(5, 10), 5), 1: info(ev(5, 12), 5), 2: info(ev(4, 20), 4)}
    assert find_best_info(infos, primary=0) == 1
    # Ties: the longer log, then the primary.
    infos = {0: info(ev(5, 10), 5, ev(3, 1)), 1: info(ev(5, 10), 5, ev(2, 1))}
    assert find_best_info(infos, primary=0) == 1
    infos = {0: info(ev(5, 10), 5), 1: info(ev(5, 10), 5)}
    assert find_best_info(infos, primary=1) == 1
    # An unfinished backfill never counts, and a newer history bound leaves nobody.
    assert find_best_info({0: info(ev(5, 10), 5, last_backfill=A)}, primary=0) is None
    bound = msgspec.structs.replace(info(ev(5, 10), 5), history=PgHistory(last_epoch_started=7))
    assert find_best_info({0: bound}, primary=0) is None


# --- codecs --------------------------------------------------------------------------------------


def test_codecs_round_trip() -> None:
    log = base_log()
    log.append(LogEntry(LogOp.ERROR, A, ev(2, 4), reqid=rid(9), return_code=-errno.EEXIST))
    log.trim(ev(1, 2))
    assert len(log.dups) == 2
    back = PgLog.decode(log.encode())
    assert (back.tail, back.head, list(back), list(back.dups)) == (
        log.tail,
        log.head,
        list(log),
        list(log.dups),
    )
    assert back.lookup_reqid(rid(1)) == log.lookup_reqid(rid(1))
    for entry in log:
        assert LogEntry.decode(entry.encode()) == entry
    info = PgInfo(PGID, ev(2, 4), ev(1, 3), ev(1, 2), 4, A, 2, PgHistory(1, 2, 1, 2, 2, 2, 2, 1))
    assert PgInfo.decode(info.encode()) == info
    other = ObjectId("x", "ns", 3)
    missing = PgMissing({A: MissingItem(ev(2, 4), ev(1, 1)), other: MissingItem(ev(1, 1))})
    assert PgMissing.decode(missing.encode()) == missing


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        msgspec.msgpack.encode([1, ["a", "", 1], [1, 1], [1, 1]]),  # prior == version
        msgspec.msgpack.encode([4, ["a", "", 1], [1, 1], [0, 0]]),  # unknown op
        msgspec.msgpack.encode([1, ["a", "", 1], [1, 1], [0, 0], ["client.1", -1, 0]]),
    ],
)
def test_corrupt_entries_are_refused(data: bytes) -> None:
    with pytest.raises(PgLogError, match="corrupt pg log entry"):
        LogEntry.decode(data)


def test_corrupt_logs_are_refused() -> None:
    entries = [modify(A, ev(1, 2)), modify(B, ev(1, 1))]
    out_of_order = msgspec.msgpack.encode([ZERO, ev(1, 2), entries, []])
    with pytest.raises(PgLogError):
        PgLog.decode(out_of_order)
    with pytest.raises(PgLogError):
        PgInfo.decode(b"\x93\x01\x02\x03")
    with pytest.raises(PgLogError):
        PgMissing.decode(b"\x91\x91\x01")


# --- the simulation ----------------------------------------------------------------------------

NAMES = ["a", "b", "c", "d"]
ACTIONS = ["write", "write", "write", "trim", "recover", "peer"]
DUPS_TRACKED = 6


@dataclass
class Osd:
    """One OSD's copy of the PG: its log, info, missing set and (as versions) objects."""

    log: PgLog = field(default_factory=PgLog)
    info: PgInfo = field(default_factory=lambda: PgInfo(PGID))
    missing: PgMissing = field(default_factory=PgMissing)
    store: dict[ObjectId, Eversion] = field(default_factory=dict)
    history: set[Eversion] = field(default_factory=set)  # versions in its lineage
    floor: Eversion = ZERO  # reqids up to here may be forgotten (backfilled)

    def expected(self) -> dict[ObjectId, Eversion]:
        """What the objects should be: the store, with missing ones at their need."""
        state = dict(self.store)
        for oid, item in self.missing.items().items():
            state[oid] = item.need
        return state

    def refresh(self) -> None:
        lc = last_complete_for(self.log, self.log.head, self.missing)
        self.info = msgspec.structs.replace(
            self.info, last_update=self.log.head, last_complete=lc, log_tail=self.log.tail
        )

    def recover(self, oid: ObjectId) -> None:
        item = self.missing.get(oid)
        if item is not None:
            self.store[oid] = item.need
            self.missing.got(oid, item.need)
            self.refresh()

    def apply(self, entry: LogEntry) -> None:
        self.log.append(entry)
        self.history.add(entry.version)
        if entry.is_delete:
            self.store.pop(entry.oid, None)
        elif entry.is_update:
            self.store[entry.oid] = entry.version
        self.refresh()

    def remove(self, oids: frozenset[ObjectId]) -> None:
        for oid in oids:
            self.store.pop(oid, None)


class Cluster:
    def __init__(self, data: st.DataObject) -> None:
        self.data = data
        self.osds = [Osd() for _ in range(3)]
        self.epoch = 0
        self.acting: list[int] = []
        self.primary = 0
        self.last_active: set[int] = set()
        self.reqids: dict[ReqId, LogEntry] = {}
        self.tid = 0
        self.snap = 0

    def draw(self, strategy: st.SearchStrategy[T]) -> T:
        return self.data.draw(strategy)

    # peering -------------------------------------------------------------------------------

    def new_interval(self) -> None:
        members = st.sets(st.sampled_from(range(3)), min_size=1)
        if self.last_active:
            members = members.filter(lambda s: bool(s & self.last_active))
        acting = sorted(self.draw(members))
        self.epoch += 1
        infos = {i: self.osds[i].info for i in acting}
        auth = find_best_info(infos, primary=acting[0])
        assert auth is not None
        primary = self.draw(st.sampled_from(acting))
        if needs_backfill(self.osds[auth].log, self.osds[primary].info, self.osds[primary].log):
            primary = auth
        self.acting, self.primary = acting, primary
        self.peer(auth)

    def peer(self, auth: int) -> None:
        a = self.osds[auth]
        truth = a.expected()
        p = self.osds[self.primary]
        if self.primary != auth:
            result = p.log.merge_log(a.log, a.info, p.info, p.missing)
            self.check_merged(p, result.remove, truth, a)
            p.info = result.info
        for r_id in self.acting:
            if r_id == self.primary:
                continue
            r = self.osds[r_id]
            if needs_backfill(p.log, r.info, r.log):
                self.backfill(r, p)
                continue
            view = proc_replica_log(p.log, r.info, r.log, r.missing)
            peer_missing = catch_up_missing(p.log, view.info, view.missing)
            olog = p.log.copy_after(view.info.last_update)
            result = r.log.merge_log(olog, p.info, r.info, r.missing)
            self.check_merged(r, result.remove, truth, p)
            r.info = result.info
            assert r.missing == peer_missing, "primary's view of the replica differs"
        for i in self.acting:
            osd = self.osds[i]
            osd.info = msgspec.structs.replace(
                osd.info,
                last_epoch_started=self.epoch,
                history=PgHistory(last_epoch_started=self.epoch),
            )
        self.last_active = set(self.acting)
        self.check_dedup()

    def check_merged(
        self, osd: Osd, remove: frozenset[ObjectId], truth: dict[ObjectId, Eversion], src: Osd
    ) -> None:
        osd.remove(remove)
        assert osd.log.head == src.log.head
        assert osd.expected() == truth
        for oid, item in osd.missing.items().items():
            assert osd.store.get(oid, ZERO) == item.have, f"{oid}: have is not what is stored"
            assert osd.store.get(oid) != item.need, f"{oid}: missing although up to date"
        osd.history = set(src.history)
        osd.refresh()
        assert (osd.info.last_complete == osd.info.last_update) == (len(osd.missing) == 0)

    def backfill(self, r: Osd, p: Osd) -> None:
        r.store = p.expected()
        r.missing = PgMissing()
        r.log = PgLog(p.log.head, p.log.head)
        r.history = set(p.history)
        r.floor = p.log.head
        r.refresh()

    def check_dedup(self) -> None:
        for i in self.acting:
            osd = self.osds[i]
            for reqid, entry in self.reqids.items():
                found = osd.log.lookup_reqid(reqid)
                if found is not None:
                    assert entry.version in osd.history, f"divergent {reqid} found"
                    assert found == LogDup.of(entry)
                elif (
                    entry.version in osd.history
                    and entry.version > osd.floor
                    and entry.version.version > osd.log.head.version - DUPS_TRACKED
                ):
                    raise AssertionError(f"recent {reqid} at {entry.version} forgotten")

    # the active interval ----------------------------------------------------------------------

    def write(self) -> bool:
        """One client op; returns whether every acting member got it."""
        p = self.osds[self.primary]
        name = self.draw(st.sampled_from(NAMES))
        head = ObjectId(name)
        for i in self.acting:
            self.osds[i].recover(head)
        kind = self.draw(st.sampled_from(["modify", "modify", "delete", "clone"]))
        v = Eversion(self.epoch, p.log.head.version + 1)
        current = p.store.get(head)
        self.tid += 1
        reqid = ReqId("client.4100", 0, self.tid)
        if kind == "clone" and current is not None:
            self.snap += 1
            entry = LogEntry(LogOp.CLONE, ObjectId(name, snap=self.snap), v, current)
        elif kind == "delete" and current is None:
            entry = LogEntry(LogOp.ERROR, head, v, reqid=reqid, return_code=-errno.ENOENT)
        elif kind == "delete":
            assert current is not None
            entry = LogEntry(LogOp.DELETE, head, v, current, reqid)
        else:
            entry = LogEntry(LogOp.MODIFY, head, v, current or ZERO, reqid)
        if entry.reqid is not None:
            self.reqids[entry.reqid] = entry
        p.apply(entry)
        replicas = [i for i in self.acting if i != self.primary]
        reached = self.draw(st.sets(st.sampled_from(replicas))) if replicas else set()
        for i in sorted(reached):
            self.osds[i].apply(entry)
        return len(reached) == len(replicas)

    def trim(self) -> None:
        limit = min(self.osds[i].info.last_complete for i in self.acting)
        p = self.osds[self.primary]
        to = calc_trim_to(p.log, target=3, limit=limit, trim_min=1)
        if to is None:
            return
        for i in self.acting:
            self.osds[i].log.trim(to, dups_tracked=DUPS_TRACKED)
            self.osds[i].refresh()

    def recover_some(self) -> None:
        for i in self.acting:
            osd = self.osds[i]
            for oid in list(osd.missing):
                if self.draw(st.booleans()):
                    osd.recover(oid)

    def run(self, steps: int) -> None:
        self.new_interval()
        for _ in range(steps):
            action = self.draw(st.sampled_from(ACTIONS))
            if action == "peer":
                self.new_interval()
            elif action == "trim":
                self.trim()
            elif action == "recover":
                self.recover_some()
            elif not self.write():
                self.new_interval()
            self.check_dedup()


@settings(max_examples=250, deadline=None)
@given(data=st.data(), steps=st.integers(1, 60))
def test_divergent_histories_converge(data: st.DataObject, steps: int) -> None:
    Cluster(data).run(steps)


def test_an_info_stored_before_the_interval_fields_still_decodes() -> None:
    """A ``pg_history_t`` of six epochs (as stored before ``last_interval_started``
    and ``last_interval_clean``) decodes, the two new epochs 0."""
    stored = msgspec.msgpack.decode(
        PgInfo(PGID, ev(2, 4), history=PgHistory(1, 5, 3, 4, 6, 4)).encode()
    )
    stored[-1] = stored[-1][:6]
    info = PgInfo.decode(msgspec.msgpack.encode(stored))
    assert info.history == PgHistory(1, 5, 3, 4, 6, 4, 0, 0)
    assert info.last_update == ev(2, 4)


def test_history_merge_takes_the_newest_epochs_but_keeps_its_own_intervals() -> None:
    mine = PgHistory(1, 5, 3, same_up_since=4, same_interval_since=6, same_primary_since=4,
                     last_interval_started=4, last_interval_clean=2)  # fmt: skip
    theirs = PgHistory(1, 7, 2, same_up_since=9, same_interval_since=9, same_primary_since=9,
                       last_interval_started=6, last_interval_clean=1)  # fmt: skip
    assert mine.merge(theirs) == PgHistory(1, 7, 3, 4, 6, 4, 6, 2)
