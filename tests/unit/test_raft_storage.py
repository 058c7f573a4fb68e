"""Durable Raft storage: contract tests for both stores, atomicity and crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radospy.raft import (
    ConfState,
    Entry,
    EntryKind,
    HardState,
    MemoryStorage,
    PersistentState,
    Snapshot,
    SqliteStorage,
    Storage,
)

Opener = Callable[[], Storage]


def _entries(first: int, last: int, term: int) -> list[Entry]:
    return [
        Entry(term, i, EntryKind.NORMAL, f"{term}:{i}".encode()) for i in range(first, last + 1)
    ]


@pytest.fixture(params=["memory", "sqlite"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens "the same disk" again: a reopen after close sees what was saved."""
    if request.param == "memory":
        store = MemoryStorage()
        yield lambda: store
    else:
        opened: list[SqliteStorage] = []

        def open_sqlite() -> Storage:
            # One process owns the store at a time (exclusive locking): close, reopen.
            if opened:
                opened[-1].close()
            opened.append(SqliteStorage(tmp_path / "raft.db"))
            return opened[-1]

        yield open_sqlite
        if opened:
            opened[-1].close()


def test_empty_storage_loads_empty_state(opener: Opener) -> None:
    assert opener().load() == PersistentState()


def test_reopen_restores_everything(opener: Opener) -> None:
    s = opener()
    snap = Snapshot(3, 2, ConfState((1, 2, 3)), b"state")
    s.save(snapshot=snap)
    s.save(hard_state=HardState(4, 2, 5), entries=_entries(4, 6, 4))
    s.close()
    state = opener().load()
    assert state == PersistentState(HardState(4, 2, 5), snap, tuple(_entries(4, 6, 4)))


def test_conflicting_suffix_is_truncated(opener: Opener) -> None:
    s = opener()
    s.save(entries=_entries(1, 10, 1))
    s.save(entries=_entries(6, 7, 2))
    assert s.load().entries == tuple(_entries(1, 5, 1) + _entries(6, 7, 2))


def test_received_snapshot_replaces_the_whole_log(opener: Opener) -> None:
    s = opener()
    s.save(entries=_entries(1, 10, 1))
    snap = Snapshot(8, 3, ConfState((1,)), b"x")
    s.save(snapshot=snap, entries=_entries(9, 9, 3))
    assert s.load().snapshot == snap
    assert s.load().entries == tuple(_entries(9, 9, 3))


def test_compaction_drops_only_the_covered_prefix(opener: Opener) -> None:
    s = opener()
    s.save(entries=_entries(1, 10, 1))
    snap = Snapshot(4, 1, ConfState((1, 2)), b"y")
    s.save(compaction=snap)
    state = s.load()
    assert state.snapshot == snap
    assert state.entries == tuple(_entries(5, 10, 1))


def test_a_gap_is_refused_and_changes_nothing(opener: Opener) -> None:
    s = opener()
    s.save(hard_state=HardState(1, 0, 0), entries=_entries(1, 3, 1))
    with pytest.raises(ValueError, match="expected 4"):
        s.save(hard_state=HardState(9, 9, 9), entries=_entries(5, 6, 1))
    assert s.load() == PersistentState(HardState(1, 0, 0), None, tuple(_entries(1, 3, 1)))


def test_sqlite_runs_wal_with_full_sync(tmp_path: Path) -> None:
    s = SqliteStorage(tmp_path / "raft.db")
    try:
        assert s._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        s.close()


def test_sqlite_writes_an_unsynced_commit_index_with_the_next_save(tmp_path: Path) -> None:
    s = SqliteStorage(tmp_path / "raft.db")
    try:
        s.save(hard_state=HardState(1, 1, 0), entries=_entries(1, 2, 1))
        s.save(hard_state=HardState(1, 1, 2), sync=False)
        assert s.load().hard_state == HardState(1, 1, 2)
        # Not in the database yet: a crash now would lose it, as an unsynced save may.
        row = s._db.execute("SELECT commit_index FROM hard_state").fetchone()
        assert row == (0,)
        s.save(entries=_entries(3, 3, 1))
        assert s._db.execute("SELECT commit_index FROM hard_state").fetchone() == (2,)
        s.save(hard_state=HardState(1, 1, 3), sync=False)
    finally:
        s.close()
    reopened = SqliteStorage(tmp_path / "raft.db")
    try:
        assert reopened.load() == PersistentState(
            HardState(1, 1, 3), None, tuple(_entries(1, 3, 1))
        )
    finally:
        reopened.close()


def test_sqlite_store_is_held_by_one_process_at_a_time(tmp_path: Path) -> None:
    s = SqliteStorage(tmp_path / "raft.db")
    try:
        s.save(hard_state=HardState(1, 1, 0), entries=_entries(1, 2, 1))
        probe = "import sys; from radospy.raft import SqliteStorage; SqliteStorage(sys.argv[1])"
        other = subprocess.run(
            [sys.executable, "-c", probe, str(tmp_path / "raft.db")],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert other.returncode != 0
        assert "StoreInUse" in other.stderr and "in use by another process" in other.stderr
        # The refused opener changed nothing.
        assert s.load() == PersistentState(HardState(1, 1, 0), None, tuple(_entries(1, 2, 1)))
    finally:
        s.close()
    again = SqliteStorage(tmp_path / "raft.db")
    try:
        assert again.load().hard_state == HardState(1, 1, 0)
    finally:
        again.close()


_WRITER = """
import sys
from radospy.raft import Entry, HardState, SqliteStorage
s = SqliteStorage(sys.argv[1])
i = 0
while True:
    i += 1
    s.save(hard_state=HardState(i, 1, i), entries=[Entry(i, i, data=b"x" * 2000)])
    if i == 50:
        print("ready", flush=True)
"""


def test_sqlite_survives_sigkill_mid_write(tmp_path: Path) -> None:
    db = tmp_path / "raft.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    s = SqliteStorage(db)
    try:
        state = s.load()
    finally:
        s.close()
    # Each save wrote entry i together with commit i: a torn save would show here.
    last = state.entries[-1].index
    assert last >= 50
    assert state.hard_state == HardState(last, 1, last)
    assert [e.index for e in state.entries] == list(range(1, last + 1))


_ops = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(1, 30), st.integers(1, 5), st.integers(1, 4)),
        st.tuples(st.just("snapshot"), st.integers(1, 30), st.integers(1, 5)),
        st.tuples(st.just("compact"), st.integers(1, 30)),
        st.tuples(st.just("hard"), st.integers(1, 9), st.integers(0, 3)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=_ops)
def test_sqlite_matches_the_memory_model(ops: list[tuple[object, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        real = SqliteStorage(Path(tmp) / "raft.db")
        model = MemoryStorage()
        for op in ops:
            kwargs = _op_to_save(op, model.load())
            if kwargs is None:
                continue
            model.save(**kwargs)  # type: ignore[arg-type]
            real.save(**kwargs)  # type: ignore[arg-type]
        real.close()
        reopened = SqliteStorage(Path(tmp) / "raft.db")
        assert reopened.load() == model.load()
        reopened.close()


def _op_to_save(op: tuple[object, ...], state: PersistentState) -> dict[str, object] | None:
    """Turn a generated op into a valid save() call for the current state."""
    snap_index = state.snapshot.index if state.snapshot else 0
    last = state.entries[-1].index if state.entries else snap_index
    kind = op[0]
    if kind == "append":
        _, first, count, term = op
        assert isinstance(first, int) and isinstance(count, int) and isinstance(term, int)
        first = min(max(first, snap_index + 1), last + 1)
        return {"entries": _entries(first, first + count - 1, term)}
    if kind == "snapshot":
        _, index, term = op
        assert isinstance(index, int) and isinstance(term, int)
        return {"snapshot": Snapshot(index, term, ConfState((1,)), b"s")}
    if kind == "compact":
        (_, index) = op
        assert isinstance(index, int)
        if not snap_index < index <= last:
            return None
        term = next(e.term for e in state.entries if e.index == index)
        return {"compaction": Snapshot(index, term, ConfState((2,)), b"c")}
    _, term, vote = op
    assert isinstance(term, int) and isinstance(vote, int)
    return {"hard_state": HardState(term, vote, 0)}
