"""The store-side pieces of recovery against a real object store: copying an object
whole, rewriting a PG log, rebuilding a missing set after a crash, and what a backfill
target or a recovering replica keeps of a replicated write."""

from __future__ import annotations

from pathlib import Path

import msgspec

from radospy.common.eversion import Eversion
from radospy.osd.objectstore import ObjectId, ObjectStore, Transaction
from radospy.osd.objectstore.transaction import PgLogAppend, SetPgInfo, WriteData
from radospy.osd.peering import BACKFILL_START
from radospy.osd.pglog import ZERO, LogEntry, LogOp, PgInfo, PgLog, PgMissing
from radospy.osd.recovery import (
    load_missing,
    log_only,
    put_object,
    put_with_snaps,
    read_object,
    rebuild_missing,
    recovery_window,
    replica_info,
    write_log,
)
from radospy.osd.snap_txn import clone_of, snap_objects, snapdir_of, trim_object, write
from radospy.osd.snaps import SnapContext
from radospy.osdmap.pg import PgId

CID = "1.0"
PGID = PgId(1, 0)
A, B, C = ObjectId("a"), ObjectId("b"), ObjectId("c", "ns")


def ev(epoch: int, version: int) -> Eversion:
    return Eversion(epoch, version)


def store_at(path: Path) -> ObjectStore:
    store = ObjectStore.mkfs(path)
    store.apply(Transaction().mkcoll(CID))
    return store


def test_an_object_is_copied_whole(tmp_path: Path) -> None:
    src = store_at(tmp_path / "src")
    dst = store_at(tmp_path / "dst")
    txn = Transaction().touch(CID, A).write(CID, A, 0, b"x" * 70000)
    txn.setattrs(CID, A, {"user.k": b"v"}).omap_setkeys(CID, A, {"k1": b"1", "k2": b"2"})
    txn.omap_setheader(CID, A, b"hdr").set_object_info(CID, A, ev(3, 7), 123)
    src.apply(txn)
    # The destination holds an older, different copy: it is replaced, not merged.
    old = Transaction().touch(CID, A).write(CID, A, 0, b"old" * 40000)
    dst.apply(old.setattrs(CID, A, {"user.stale": b"1"}).omap_setkeys(CID, A, {"k0": b"0"}))
    state = read_object(src, CID, A)
    assert state is not None
    dst.apply(put_object(Transaction(), CID, A, state, exists=True))
    assert read_object(dst, CID, A) == state
    assert dst.stat(CID, A) == src.stat(CID, A)
    # A deleted object is copied as its absence.
    assert read_object(src, CID, B) is None
    dst.apply(put_object(Transaction(), CID, A, None, exists=True))
    assert dst.stat(CID, A) is None


def snap_write(
    store: ObjectStore, oid: ObjectId, snapc: SnapContext, data: bytes, at: Eversion
) -> None:
    """A write of `data` to head `oid` under `snapc`, cloning the head as the OSD does."""
    txn = Transaction().touch(CID, oid).write(CID, oid, 0, data).set_object_info(CID, oid, at, 0)
    store.apply(write(store, CID, oid, snapc, txn, head_exists_after=True))


def test_a_head_is_recovered_with_its_clones_in_one_transaction(tmp_path: Path) -> None:
    """Regression (thrash seed 1654029070): the head, its SnapSet and its clones used to
    be pushed one by one, and the head's push took it off the missing set, so an
    interval change or a crash before the clones arrived left the replica without
    them for good. Now all of them land in one transaction: until it commits the
    head is still missing, after it the copy holds everything the primary holds (and
    no clone the primary trimmed)."""
    primary = store_at(tmp_path / "primary")
    replica = store_at(tmp_path / "replica")
    for store in (primary, replica):
        snap_write(store, A, SnapContext(0, ()), b"v1", ev(1, 1))
        snap_write(store, A, SnapContext(2, (2,)), b"v2", ev(1, 2))
    # While the replica was away: snap 2 trimmed (clone 2 gone), snap 5 taken, a write.
    trimmed = trim_object(primary, CID, A, {2})
    assert trimmed is not None
    primary.apply(trimmed.txn)
    snap_write(primary, A, SnapContext(5, (5,)), b"v3", ev(2, 3))
    snap_write(primary, A, SnapContext(5, (5,)), b"v4", ev(2, 4))
    pglog = PgLog(entries=[LogEntry(LogOp.MODIFY, A, ev(2, 4), ev(1, 2))])
    info = PgInfo(PGID, ev(2, 4), ev(1, 2))
    assert set(load_missing(replica, CID, pglog, info).items()) == {A}

    family = [(o, read_object(primary, CID, o)) for o in [A, *snap_objects(primary, CID, A)]]
    txn = put_with_snaps(replica, Transaction(), CID, family)
    assert set(load_missing(replica, CID, pglog, info).items()) == {A}  # not applied yet
    replica.apply(txn)
    assert not len(load_missing(replica, CID, pglog, info))
    for oid in (A, snapdir_of(A), clone_of(A, 5)):
        assert read_object(replica, CID, oid) == read_object(primary, CID, oid)
    assert replica.read(CID, clone_of(A, 5)) == b"v2"
    assert replica.stat(CID, clone_of(A, 2)) is None


def test_a_snapset_object_missed_by_a_trim_is_recovered(tmp_path: Path) -> None:
    """Regression (short thrash with snapshots): a trim logs its entry under the
    SnapSet object, so a replica that missed it misses that object, and recovery
    pushes it as the object and again in its family. The transaction removed the
    replica's trimmed clone twice and the store refused it: recovery of the PG
    stalled for good. Each object is now put once."""
    primary = store_at(tmp_path / "primary")
    replica = store_at(tmp_path / "replica")
    for store in (primary, replica):
        snap_write(store, A, SnapContext(0, ()), b"v1", ev(1, 1))
        snap_write(store, A, SnapContext(2, (2,)), b"v2", ev(1, 2))
    trimmed = trim_object(primary, CID, A, {2})
    assert trimmed is not None and trimmed.snapset_kept
    where = snapdir_of(A)
    primary.apply(trimmed.txn.set_object_info(CID, where, ev(2, 3), 0))
    pglog = PgLog(entries=[LogEntry(LogOp.MODIFY, where, ev(2, 3), ev(1, 2))])
    info = PgInfo(PGID, ev(2, 3), ev(1, 2))
    assert set(load_missing(replica, CID, pglog, info).items()) == {where}

    family = [(o, read_object(primary, CID, o)) for o in [where, *snap_objects(primary, CID, A)]]
    replica.apply(put_with_snaps(replica, Transaction(), CID, family))
    assert not len(load_missing(replica, CID, pglog, info))
    assert read_object(replica, CID, where) == read_object(primary, CID, where)
    assert replica.stat(CID, clone_of(A, 2)) is None
    assert replica.read(CID, A) == b"v2"


def test_write_log_replaces_the_stored_log(tmp_path: Path) -> None:
    store = store_at(tmp_path / "s")
    first = PgLog(
        entries=[LogEntry(LogOp.MODIFY, A, ev(1, 1)), LogEntry(LogOp.MODIFY, B, ev(1, 2))]
    )
    store.apply(write_log(Transaction(), CID, first, PgInfo(PGID, ev(1, 2), ev(1, 2))))
    second = PgLog(
        entries=[LogEntry(LogOp.MODIFY, A, ev(1, 1)), LogEntry(LogOp.MODIFY, C, ev(2, 2))]
    )
    info = PgInfo(PGID, ev(2, 2), ev(1, 1))
    store.apply(write_log(Transaction(), CID, second, info))
    assert [v for v, _ in store.pglog(CID)] == [ev(1, 1), ev(2, 2)]
    assert store.pginfo(CID) == info.encode()


def test_missing_set_is_rebuilt_from_log_and_store(tmp_path: Path) -> None:
    store = store_at(tmp_path / "s")
    store.apply(Transaction().touch(CID, A).set_object_info(CID, A, ev(1, 1), 0))
    store.apply(Transaction().touch(CID, B).set_object_info(CID, B, ev(1, 4), 0))
    entries = [
        LogEntry(LogOp.MODIFY, A, ev(1, 1)),
        LogEntry(LogOp.MODIFY, A, ev(1, 2), ev(1, 1)),
        LogEntry(LogOp.MODIFY, C, ev(1, 3)),
        LogEntry(LogOp.MODIFY, B, ev(1, 4)),
        LogEntry(LogOp.DELETE, ObjectId("gone"), ev(1, 5), ev(1, 3)),
    ]
    pglog = PgLog(entries=entries)
    info = PgInfo(PGID, ev(1, 5), ev(1, 1))
    missing = load_missing(store, CID, pglog, info)
    found = {oid: (item.need, item.have) for oid, item in missing.items().items()}
    assert found == {A: (ev(1, 2), ev(1, 1)), C: (ev(1, 3), ZERO)}
    # Complete copies miss nothing; objects a backfill has not reached are not missing.
    assert not len(
        rebuild_missing(
            pglog, msgspec.structs.replace(info, last_complete=ev(1, 5)), lambda o: None
        )
    )
    partial = msgspec.structs.replace(info, last_backfill=BACKFILL_START)
    assert not len(rebuild_missing(pglog, partial, lambda o: None))


def test_backfill_targets_get_only_the_log_of_objects_not_reached() -> None:
    entry = LogEntry(LogOp.MODIFY, A, ev(2, 3))
    txn = Transaction().write(CID, A, 0, b"data").pglog_append(CID, ev(2, 3), entry.encode())
    txn.set_pginfo(CID, PgInfo(PGID, ev(2, 3), ev(2, 3)).encode())
    kept = log_only(txn)
    assert [type(op) for op in kept.ops] == [PgLogAppend, SetPgInfo]
    assert not any(isinstance(op, WriteData) for op in kept.ops)


def test_replicas_keep_their_own_recovery_progress() -> None:
    primary = PgInfo(PGID, ev(2, 9), ev(2, 9), ev(1, 1))
    own = PgInfo(PGID, ev(2, 8), ev(2, 5), ev(1, 1), last_backfill=ObjectId("m"))
    missing = PgMissing()
    missing.add(A, ev(2, 6))
    info = replica_info(primary, own, missing)
    assert (info.last_update, info.last_complete, info.last_backfill) == (
        ev(2, 9),
        ev(2, 5),
        ObjectId("m"),
    )
    assert replica_info(primary, PgInfo(PGID), PgMissing()) == primary


def test_recovery_window_takes_the_oldest_needs_once_each() -> None:
    """Several objects of a PG go at once: the oldest needs across members, an object
    two members miss counted once (at its oldest need), at most the window's size."""
    first, second = PgMissing(), PgMissing()
    first.add(A, Eversion(3, 7))
    first.add(B, Eversion(3, 2))
    second.add(A, Eversion(3, 5))
    second.add(C, Eversion(3, 9))
    assert recovery_window([first, second], 10) == [B, A, C]
    assert recovery_window([first, second], 2) == [B, A]
    assert recovery_window([PgMissing()], 3) == []
