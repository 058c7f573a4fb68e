"""Durable Raft storage: contract tests for both stores, atomicity and crash safety."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
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
    StoreInUse,
    WalCorrupt,
    WalStorage,
)
from radospy.raft.migrate import migrate_sqlite_store

Opener = Callable[[], Storage]


def _entries(first: int, last: int, term: int) -> list[Entry]:
    return [
        Entry(term, i, EntryKind.NORMAL, f"{term}:{i}".encode()) for i in range(first, last + 1)
    ]


@pytest.fixture(params=["memory", "sqlite", "wal"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens "the same disk" again: a reopen after close sees what was saved."""
    if request.param == "memory":
        store = MemoryStorage()
        yield lambda: store
    else:
        opened: list[SqliteStorage | WalStorage] = []

        def open_disk() -> Storage:
            # One process owns the store at a time (exclusive locking): close, reopen.
            if opened:
                opened[-1].close()
            if request.param == "sqlite":
                opened.append(SqliteStorage(tmp_path / "raft.db"))
            else:
                opened.append(WalStorage(tmp_path / "raft", segment_bytes=300))
            return opened[-1]

        yield open_disk
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
import json
import sys
from radospy import raft
from radospy.raft import Entry, HardState
s = getattr(raft, sys.argv[2])(sys.argv[1], **json.loads(sys.argv[3]))
i = 0
while True:
    i += 1
    s.save(hard_state=HardState(i, 1, i), entries=[Entry(i, i, data=b"x" * 2000)])
    if i == 50:
        print("ready", flush=True)
"""


@pytest.mark.parametrize(
    ("store", "name", "options"),
    [(SqliteStorage, "raft.db", {}), (WalStorage, "raft", {"segment_bytes": 50_000})],
    ids=["sqlite", "wal"],
)
def test_store_survives_sigkill_mid_write(
    tmp_path: Path, store: type[SqliteStorage | WalStorage], name: str, options: dict[str, int]
) -> None:
    path = tmp_path / name
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), store.__name__, json.dumps(options)],
        stdout=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    s = store(path, **options)
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


# --- the append-only log ---------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=_ops,
    reopen_at=st.sets(st.integers(0, 25)),
    segment_bytes=st.sampled_from([1, 200, 1 << 20]),
)
def test_wal_matches_the_memory_model(
    ops: list[tuple[object, ...]], reopen_at: set[int], segment_bytes: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "raft"
        real = WalStorage(path, segment_bytes=segment_bytes)
        model = MemoryStorage()
        try:
            for step, op in enumerate(ops):
                if step in reopen_at:
                    real.close()
                    real = WalStorage(path, segment_bytes=segment_bytes)
                    assert real.load() == model.load()
                kwargs = _op_to_save(op, model.load())
                if kwargs is None:
                    continue
                model.save(**kwargs)  # type: ignore[arg-type]
                real.save(**kwargs)  # type: ignore[arg-type]
                assert real.load() == model.load()
        finally:
            real.close()
        reopened = WalStorage(path, segment_bytes=segment_bytes)
        assert reopened.load() == model.load()
        reopened.close()


def _one_segment_log(path: Path) -> tuple[Path, list[PersistentState]]:
    """A log of four records in one segment: its file and the state after each record
    (index 0: before any)."""
    s = WalStorage(path, segment_bytes=4096)
    states = [s.load()]
    s.save(hard_state=HardState(1, 1, 0), entries=_entries(1, 3, 1))
    states.append(s.load())
    s.save(hard_state=HardState(2, 2, 3), entries=_entries(3, 5, 2))
    states.append(s.load())
    s.save(compaction=Snapshot(2, 1, ConfState((1,)), b"snap"))
    states.append(s.load())
    s.save(hard_state=HardState(2, 2, 4), sync=False)
    s.save(entries=_entries(6, 7, 2))
    states.append(s.load())
    s.close()
    (segment,) = sorted(path.glob("*.log"))
    return segment, states


def _record_ends(segment: Path) -> list[int]:
    """Where each record ends; the zeros of the preallocated rest end the list."""
    data = segment.read_bytes()
    ends, pos = [], 0
    while (n := int.from_bytes(data[pos : pos + 4], "little")) > 0:
        pos += 12 + n
        ends.append(pos)
    return ends


@pytest.mark.parametrize("torn", ["zeroed", "truncated"])
def test_wal_torn_tail_at_every_byte_recovers_the_prefix(tmp_path: Path, torn: str) -> None:
    """A crash mid-append leaves the record's unwritten part as the preallocated zeros
    (or, on a file cut short, nothing): every prefix of the records recovers."""
    segment, states = _one_segment_log(tmp_path / "raft")
    data = segment.read_bytes()
    ends = _record_ends(segment)
    assert len(ends) == len(states) - 1
    assert segment.stat().st_size == 4096 and not any(data[ends[-1] :])
    for cut in range(ends[-1] + 1):
        if torn == "zeroed":
            segment.write_bytes(data[:cut] + bytes(len(data) - cut))
        else:
            segment.write_bytes(data[:cut])
        s = WalStorage(tmp_path / "raft", segment_bytes=4096)
        try:
            # A record is whole if it ends before the cut or (zeroed) if the bytes cut
            # were zeros already.
            whole = sum(
                1 for end in ends if end <= cut or (torn == "zeroed" and not any(data[cut:end]))
            )
            got = s.load()
            # The snapshot file is newer than a cut-off compaction record: recovery keeps
            # the entries that follow it, as the model after that compaction has them.
            want = states[whole]
            if got.snapshot is not None and want.snapshot is None:
                want = PersistentState(
                    want.hard_state,
                    got.snapshot,
                    tuple(e for e in want.entries if e.index > got.snapshot.index),
                )
            assert got == want, cut
            # The torn bytes were zeroed: a record saved now follows the last whole one.
            kept = ends[whole - 1] if whole else 0
            assert not any(segment.read_bytes()[kept:]), cut
            s.save(hard_state=HardState(9, 9, 0))
        finally:
            s.close()
        again = WalStorage(tmp_path / "raft", segment_bytes=4096)
        try:
            assert again.load().hard_state == HardState(9, 9, 0)
        finally:
            again.close()


def test_wal_unfinished_record_of_zeros_at_the_tail_is_dropped(tmp_path: Path) -> None:
    segment, states = _one_segment_log(tmp_path / "raft")
    data = segment.read_bytes()
    last = _record_ends(segment)[-2]
    # The file grew but the last record's blocks were never written.
    segment.write_bytes(data[:last] + bytes(len(data) - last))
    s = WalStorage(tmp_path / "raft")
    try:
        assert s.load().entries == states[-2].entries
    finally:
        s.close()


@pytest.mark.parametrize("record", [0, 1, 2])
def test_wal_corrupt_record_in_the_middle_is_refused(tmp_path: Path, record: int) -> None:
    segment, _ = _one_segment_log(tmp_path / "raft")
    data = bytearray(segment.read_bytes())
    start = ([0, *_record_ends(segment)])[record]
    data[start + 14] ^= 0x40
    segment.write_bytes(bytes(data))
    with pytest.raises(WalCorrupt, match=rf"at offset {start}: checksum mismatch"):
        WalStorage(tmp_path / "raft")
    # Refused without touching the file, and the lock was released.
    assert segment.read_bytes() == bytes(data)
    with pytest.raises(WalCorrupt):
        WalStorage(tmp_path / "raft")


def test_wal_corrupt_older_segment_is_refused_even_at_its_end(tmp_path: Path) -> None:
    s = WalStorage(tmp_path / "raft", segment_bytes=1)
    for i in range(1, 4):
        s.save(hard_state=HardState(1, 1, 0), entries=_entries(i, i, 1))
    s.close()
    first = sorted((tmp_path / "raft").glob("*.log"))[0]
    first.write_bytes(first.read_bytes()[:-3])
    with pytest.raises(WalCorrupt, match="record cut short"):
        WalStorage(tmp_path / "raft")


def test_wal_compaction_deletes_covered_segments(tmp_path: Path) -> None:
    s = WalStorage(tmp_path / "raft", segment_bytes=1)
    try:
        for i in range(1, 11):
            s.save(hard_state=HardState(1, 1, i - 1), entries=_entries(i, i, 1))
        assert len(list((tmp_path / "raft").glob("*.log"))) == 10
        s.save(compaction=Snapshot(8, 1, ConfState((1,)), b"snap"))
        # Segments holding only entries up to 8 are gone; 9 and 10 and the newest remain.
        assert len(list((tmp_path / "raft").glob("*.log"))) == 3
    finally:
        s.close()
    again = WalStorage(tmp_path / "raft", segment_bytes=1)
    try:
        assert again.load() == PersistentState(
            HardState(1, 1, 9), Snapshot(8, 1, ConfState((1,)), b"snap"), tuple(_entries(9, 10, 1))
        )
    finally:
        again.close()


def test_wal_is_held_by_one_process_at_a_time(tmp_path: Path) -> None:
    s = WalStorage(tmp_path / "raft")
    try:
        with pytest.raises(StoreInUse, match="in use by another process"):
            WalStorage(tmp_path / "raft")
    finally:
        s.close()
    WalStorage(tmp_path / "raft").close()


def _sqlite_store(path: Path) -> PersistentState:
    old = SqliteStorage(path)
    old.save(hard_state=HardState(1, 1, 0), entries=_entries(1, 4, 1))
    old.save(compaction=Snapshot(2, 1, ConfState((1,)), b"snap"))
    old.save(hard_state=HardState(3, 2, 3), entries=_entries(4, 6, 3))
    state = old.load()
    old.close()
    return state


def test_sqlite_store_is_migrated_into_the_log(tmp_path: Path) -> None:
    want = _sqlite_store(tmp_path / "store.db")
    assert migrate_sqlite_store(tmp_path / "store.db", tmp_path / "raft")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raft"]
    wal = WalStorage(tmp_path / "raft")
    try:
        assert wal.load() == want
    finally:
        wal.close()
    assert not migrate_sqlite_store(tmp_path / "store.db", tmp_path / "raft")


def test_migration_interrupted_before_or_after_the_rename_is_finished(tmp_path: Path) -> None:
    want = _sqlite_store(tmp_path / "store.db")
    # Interrupted while building the new log: the half-built copy is discarded.
    (tmp_path / ".raft.migrating").mkdir()
    (tmp_path / ".raft.migrating" / "0000000000000000.log").write_bytes(b"half")
    # Interrupted after the rename, before the old store was removed: the log is kept.
    assert migrate_sqlite_store(tmp_path / "store.db", tmp_path / "raft")
    shutil.copy(tmp_path / "raft" / "0000000000000000.log", tmp_path / "kept.log")
    SqliteStorage(tmp_path / "store.db").close()
    assert migrate_sqlite_store(tmp_path / "store.db", tmp_path / "raft")
    assert not (tmp_path / "store.db").exists()
    assert (tmp_path / "raft" / "0000000000000000.log").read_bytes() == (
        tmp_path / "kept.log"
    ).read_bytes()
    wal = WalStorage(tmp_path / "raft")
    try:
        assert wal.load() == want
    finally:
        wal.close()


def test_a_snapshot_and_a_compaction_in_one_save(opener: Opener) -> None:
    s = opener()
    s.save(hard_state=HardState(1, 1, 0), entries=_entries(1, 3, 1))
    s.save(
        snapshot=Snapshot(5, 2, ConfState((1,)), b"received"),
        compaction=Snapshot(5, 2, ConfState((1,)), b"taken"),
        entries=_entries(6, 7, 2),
    )
    want = PersistentState(
        HardState(1, 1, 0), Snapshot(5, 2, ConfState((1,)), b"taken"), tuple(_entries(6, 7, 2))
    )
    assert s.load() == want
    assert opener().load() == want
