"""Durable Raft state: hard state, log entries and the latest snapshot.

Raft's safety rests on one rule: a node persists its hard state (term, vote, commit) and
its new entries *before* it sends any message that depends on them — a vote, an append
acknowledgement, an AppendEntries. :func:`save_ready` does the persisting half of a
:class:`~radospy.raft.core.Ready` in one transaction, so a crash leaves either all of it
or none of it on disk. A save with ``sync=False`` (a Ready that only moves the commit
index) is atomic but may be lost by a crash, together with every later unsynced save and
never without them: a synced save makes every earlier one durable too.
:class:`SqliteStorage` is the real store (SQLite in WAL mode, ``synchronous=FULL`` for a
synced save: a commit is on stable storage when it returns; ``NORMAL`` otherwise, which
in WAL mode keeps transactions atomic and in order but skips the fsync; opened in
exclusive locking mode, since one monitor process owns its store);
:class:`MemoryStorage` has the same contract and serves simulations and tests.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import msgspec

from radospy.raft.core import Ready
from radospy.raft.messages import (
    ConfState,
    Entry,
    EntryKind,
    HardState,
    PersistentState,
    Snapshot,
)


class Storage(Protocol):
    """What a Raft driver needs from durable storage."""

    def load(self) -> PersistentState:
        """Everything saved so far (an empty state for a new node)."""
        ...

    def save(
        self,
        *,
        hard_state: HardState | None = None,
        entries: Sequence[Entry] = (),
        snapshot: Snapshot | None = None,
        compaction: Snapshot | None = None,
        sync: bool = True,
    ) -> None:
        """Persist atomically, in this order: ``snapshot`` (replaces the whole log),
        ``compaction`` (drops the entries it covers), ``entries`` (overwriting any stored
        suffix from ``entries[0].index``), ``hard_state``. Durable on return only with
        ``sync``; otherwise once a later synced save returns."""
        ...

    def close(self) -> None:
        """Release resources; everything saved stays saved."""
        ...


def save_ready(storage: Storage, rd: Ready) -> None:
    """Persist the durable part of ``rd``; call before sending ``rd.messages``."""
    if rd.hard_state or rd.entries or rd.snapshot or rd.compaction:
        storage.save(
            hard_state=rd.hard_state,
            entries=rd.entries,
            snapshot=rd.snapshot,
            compaction=rd.compaction,
            sync=rd.must_sync,
        )


class MemoryStorage:
    """Storage kept in memory; survives a simulated crash (:meth:`crash`), not a process
    exit."""

    def __init__(self) -> None:
        self._hard = HardState()
        self._snapshot: Snapshot | None = None
        self._entries: list[Entry] = []
        self._durable: tuple[HardState, Snapshot | None, list[Entry]] = (
            self._hard,
            None,
            [],
        )

    def crash(self) -> None:
        """Lose whatever unsynced saves came after the last synced one, as a power
        failure may."""
        self._hard, self._snapshot, self._entries = self._durable

    def load(self) -> PersistentState:
        """Everything saved so far."""
        return PersistentState(self._hard, self._snapshot, tuple(self._entries))

    def save(
        self,
        *,
        hard_state: HardState | None = None,
        entries: Sequence[Entry] = (),
        snapshot: Snapshot | None = None,
        compaction: Snapshot | None = None,
        sync: bool = True,
    ) -> None:
        """Persist atomically (see :meth:`Storage.save`)."""
        log = list(self._entries)
        snap = self._snapshot
        if snapshot is not None:
            log, snap = [], snapshot
        if compaction is not None:
            log, snap = [e for e in log if e.index > compaction.index], compaction
        if entries:
            first = entries[0].index
            log = [e for e in log if e.index < first]
            expected = log[-1].index + 1 if log else (snap.index + 1 if snap else 1)
            if first != expected:
                raise ValueError(f"entries start at {first}, expected {expected}")
            log.extend(entries)
        self._entries, self._snapshot = log, snap
        if hard_state is not None:
            self._hard = hard_state
        if sync:
            self._durable = (self._hard, self._snapshot, self._entries)

    def close(self) -> None:
        """Nothing to release."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS hard_state (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    term INTEGER NOT NULL, vote INTEGER NOT NULL, commit_index INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, kind INTEGER NOT NULL,
    data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    idx INTEGER NOT NULL, term INTEGER NOT NULL, conf BLOB NOT NULL, data BLOB NOT NULL);
"""


class StoreInUse(OSError):
    """Another process holds the store open."""


class SqliteStorage:
    """Raft state in one SQLite database (WAL, ``synchronous=FULL``), held exclusively.

    Exclusive locking mode: the file locks are taken once, by the first transaction, and
    kept until :meth:`close`, instead of six ``fcntl`` calls around every save (one per
    commit on every monitor); WAL then needs no shared-memory index either. A second
    process opening the same store gets :class:`StoreInUse`, not a shared store.
    """

    def __init__(self, path: str | Path) -> None:
        # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE.
        self._db = sqlite3.connect(str(path), isolation_level=None, timeout=0)
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.OperationalError as exc:
            self._db.close()
            if "locked" in str(exc):
                raise StoreInUse(f"{path} is in use by another process") from None
            raise
        self._sync = True
        self._deferred: HardState | None = None
        # The log's bounds, kept here rather than asked of SQLite on every save.
        self._snap_index, self._last_index = self._stored_bounds()

    def load(self) -> PersistentState:
        """Everything saved so far, checked for internal consistency."""
        db = self._db
        row = db.execute("SELECT term, vote, commit_index FROM hard_state").fetchone()
        hard = HardState(*row) if row else HardState()
        if self._deferred is not None:
            hard = self._deferred
        srow = db.execute("SELECT idx, term, conf, data FROM snapshot").fetchone()
        snapshot = None
        if srow:
            conf = msgspec.msgpack.decode(srow[2], type=ConfState)
            snapshot = Snapshot(srow[0], srow[1], conf, bytes(srow[3]))
        entries = tuple(
            Entry(term, idx, EntryKind(kind), bytes(data))
            for idx, term, kind, data in db.execute(
                "SELECT idx, term, kind, data FROM entries ORDER BY idx"
            )
        )
        first = snapshot.index + 1 if snapshot else 1
        for offset, e in enumerate(entries):
            if e.index != first + offset:
                raise ValueError(f"raft log has a hole before index {e.index}")
        return PersistentState(hard, snapshot, entries)

    def save(
        self,
        *,
        hard_state: HardState | None = None,
        entries: Sequence[Entry] = (),
        snapshot: Snapshot | None = None,
        compaction: Snapshot | None = None,
        sync: bool = True,
    ) -> None:
        """Persist atomically (see :meth:`Storage.save`); durable on return if ``sync``.

        A save of nothing but an unsynced hard state (a leader's or follower's new
        commit index, once per commit) is kept in memory and written with the next
        save or on :meth:`close`: it may be lost by a crash anyway, and a transaction
        of its own would cost about as much as the entry it commits."""
        if not sync and hard_state is not None and not entries and snapshot is compaction is None:
            self._deferred = hard_state
            return
        if hard_state is None:
            hard_state = self._deferred
        self._deferred = None
        db = self._db
        if sync != self._sync:
            # WAL frames reach the disk in commit order, so the fsync of a later FULL
            # commit covers every NORMAL one before it.
            db.execute(f"PRAGMA synchronous={'FULL' if sync else 'NORMAL'}")
            self._sync = sync
        db.execute("BEGIN IMMEDIATE")
        try:
            snap, last = self._snap_index, self._last_index
            if snapshot is not None:
                db.execute("DELETE FROM entries")
                self._put_snapshot(snapshot)
                snap = last = snapshot.index
            if compaction is not None:
                db.execute("DELETE FROM entries WHERE idx <= ?", (compaction.index,))
                self._put_snapshot(compaction)
                snap, last = compaction.index, max(last, compaction.index)
            if entries:
                first = entries[0].index
                if not snap < first <= last + 1:
                    expected = last + 1 if first > snap else snap + 1
                    raise ValueError(f"entries start at {first}, expected {expected}")
                if first <= last:
                    db.execute("DELETE FROM entries WHERE idx >= ?", (first,))
                last = entries[-1].index
                db.executemany(
                    "INSERT INTO entries (idx, term, kind, data) VALUES (?, ?, ?, ?)",
                    [(e.index, e.term, int(e.kind), e.data) for e in entries],
                )
            if hard_state is not None:
                db.execute(
                    "INSERT OR REPLACE INTO hard_state VALUES (0, ?, ?, ?)",
                    (hard_state.term, hard_state.vote, hard_state.commit),
                )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        self._snap_index, self._last_index = snap, last

    def _stored_bounds(self) -> tuple[int, int]:
        """The snapshot's index (0 without one) and the last entry's (else the
        snapshot's)."""
        row = self._db.execute("SELECT idx FROM snapshot").fetchone()
        snap = int(row[0]) if row else 0
        (last,) = self._db.execute("SELECT max(idx) FROM entries").fetchone()
        return snap, int(last) if last is not None else snap

    def _put_snapshot(self, snap: Snapshot) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO snapshot VALUES (0, ?, ?, ?, ?)",
            (snap.index, snap.term, msgspec.msgpack.encode(snap.conf), snap.data),
        )

    def close(self) -> None:
        """Write what is deferred and close the database."""
        if self._deferred is not None:
            self.save(hard_state=self._deferred)
        self._db.close()
