"""The object store's block file: bulk extents written once outside the database, its
allocator, crash safety of overwrites, readers racing writers, and old formats."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from radospy.osd.objectstore import (
    EXTENT_SIZE,
    ChecksumError,
    ObjectId,
    ObjectStore,
    StoreError,
    Transaction,
)
from radospy.osd.objectstore.allocator import Allocator
from radospy.osd.objectstore.store import BLOCK_NAME, DB_NAME, MIN_ALLOC

C = "1.0"
A = ObjectId("a")


# --- allocator -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.booleans(), st.integers(1, 70)), max_size=60))
def test_allocator_never_hands_out_a_unit_twice(steps):
    alloc = Allocator()
    held: list[list[int]] = []
    in_use: set[int] = set()
    for take, count in steps:
        if take or not held:
            size, free = alloc.size, alloc.size - alloc.used
            units = alloc.allocate(count)
            # The file grows only when its free units do not suffice, and by no more
            # than what is missing beyond its free tail.
            assert alloc.size == size or free < count
            assert alloc.size - size <= count
            assert len(units) == count == len(set(units))
            assert not in_use & set(units)
            assert units == sorted(units) and units[-1] < alloc.size
            in_use |= set(units)
            held.append(units)
        else:
            units = held.pop(count % len(held))
            alloc.release(units)
            in_use -= set(units)
        assert alloc.used == len(in_use)


def test_allocator_prefers_one_contiguous_run():
    alloc = Allocator(size=10, used=[0, 2, 4])
    assert alloc.allocate(3) == [5, 6, 7]
    assert alloc.allocate(4) == [1, 3, 8, 9]  # scattered when the free units suffice
    assert alloc.allocate(2) == [10, 11]  # grows at the end otherwise
    with pytest.raises(ValueError, match="released twice"):
        alloc.release([12])


# --- layout --------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    s = ObjectStore.mkfs(tmp_path / "osd")
    s.apply(Transaction().mkcoll(C).touch(C, A))
    yield s
    s.close()


def _db_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob(DB_NAME + "*"))


def test_bulk_write_goes_to_the_block_file_once(store, tmp_path):
    data = os.urandom(4 << 20)
    before = _db_bytes(tmp_path / "osd")
    store.apply(Transaction().write(C, A, 0, data))
    assert os.path.getsize(tmp_path / "osd" / BLOCK_NAME) == len(data)
    # The database holds 64 rows of metadata, not a copy of the data.
    assert _db_bytes(tmp_path / "osd") - before < 1 << 20
    assert store.read(C, A) == data
    assert store.read(C, A, EXTENT_SIZE - 5, 10) == data[EXTENT_SIZE - 5 : EXTENT_SIZE + 5]
    # A later bulk overwrite reuses the freed units: the file does not grow.
    store.apply(Transaction().write(C, A, 0, data[::-1]))
    store.apply(Transaction().write(C, A, 0, data))
    assert os.path.getsize(tmp_path / "osd" / BLOCK_NAME) == 2 * len(data)
    assert store.read(C, A) == data
    assert store.fsck() == []


def test_small_writes_stay_in_the_database(store, tmp_path):
    store.apply(Transaction().write(C, A, 0, b"x" * (MIN_ALLOC - 1)))
    assert os.path.getsize(tmp_path / "osd" / BLOCK_NAME) == 0
    assert store.read(C, A) == b"x" * (MIN_ALLOC - 1)


def test_flipped_byte_in_the_block_file_is_caught(tmp_path):
    data = b"A" * EXTENT_SIZE + b"B" * EXTENT_SIZE
    with ObjectStore.mkfs(tmp_path) as s:
        s.apply(Transaction().mkcoll(C).touch(C, A).write(C, A, 0, data))
    with open(tmp_path / BLOCK_NAME, "r+b") as f:
        f.seek(EXTENT_SIZE + 77)
        f.write(b"C")
    with ObjectStore.open(tmp_path) as s:
        assert s.read(C, A, 0, 100) == b"A" * 100
        with pytest.raises(ChecksumError) as caught:
            s.read(C, A, EXTENT_SIZE, 10)
        assert caught.value.offset == EXTENT_SIZE
        with pytest.raises(ChecksumError):
            s.apply(Transaction().write(C, A, EXTENT_SIZE + 1, b"z"))
        with pytest.raises(ChecksumError):
            s.apply(Transaction().clone(C, A, ObjectId("b")))
        assert any("checksum mismatch at offset 65536" in p for p in s.fsck())


def test_a_cut_block_file_fails_the_checksum_of_a_big_read(tmp_path):
    """Big reads go through a reused buffer: a short read past the end of a damaged
    block file is a checksum error, even after a read of identical data."""
    data = os.urandom(EXTENT_SIZE) * 32  # 2 MiB of identical extents
    b = ObjectId("b")
    with ObjectStore.mkfs(tmp_path) as s:
        s.apply(Transaction().mkcoll(C).touch(C, A).write(C, A, 0, data))
        s.apply(Transaction().touch(C, b).write(C, b, 0, data))
    os.truncate(tmp_path / BLOCK_NAME, 2 * len(data) - EXTENT_SIZE)
    with ObjectStore.open(tmp_path) as s:
        assert s.read(C, A) == data
        with pytest.raises(ChecksumError) as caught:
            s.read(C, b)
        assert caught.value.offset == len(data) - EXTENT_SIZE
        assert any("outside the block file" in p for p in s.fsck())


def test_an_older_format_is_refused_clearly(tmp_path):
    ObjectStore.mkfs(tmp_path).close()
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute("UPDATE meta SET value=? WHERE key='format'", (b"radospy-objectstore 1",))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"format .radospy-objectstore 1.*recreate the OSD"):
        ObjectStore.open(tmp_path)


def test_missing_block_file_is_reported(tmp_path):
    ObjectStore.mkfs(tmp_path).close()
    (tmp_path / BLOCK_NAME).unlink()
    with pytest.raises(StoreError, match=r"corrupt.*missing block file"):
        ObjectStore.open(tmp_path)


def test_readers_racing_overwrites_see_whole_generations(store):
    """Units freed by an overwrite are reused only after every reader that could
    still be reading them is done: a reader never sees a mix, nor a bad checksum."""
    size = 4 * EXTENT_SIZE + 100
    store.apply(Transaction().write(C, A, 0, bytes([0]) * size))
    stop = threading.Event()
    seen: list[int] = []
    failures: list[BaseException] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                data = store.read(C, A)
                assert data == bytes([data[0]]) * size
                seen.append(data[0])
            except BaseException as exc:  # reported by the main thread
                failures.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for gen in range(1, 60):
        store.apply(Transaction().write(C, A, 0, bytes([gen]) * size))
    stop.set()
    for t in threads:
        t.join()
    assert failures == []
    assert seen
    assert store.fsck() == []


# --- model-based ---------------------------------------------------------------------


class BlockStoreMachine(RuleBasedStateMachine):
    """Any sequence of writes (small and bulk, aligned or not), zeros, truncates,
    clones, removals and reopenings leaves each object equal to a bytearray model, the
    allocator equal to the units the rows reference, and fsck clean."""

    objects = Bundle("objects")

    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="radospy-blocks-")) / "osd"
        self.store = ObjectStore.mkfs(self.root)
        self.store.apply(Transaction().mkcoll(C))
        self.model: dict[str, bytearray] = {}
        self.gen = 0

    def _data(self, length: int) -> bytes:
        self.gen += 1
        return (self.gen % 251 + 1).to_bytes(1, "big") * length

    @initialize(target=objects)
    def first(self) -> str:
        self.store.apply(Transaction().touch(C, ObjectId("o0")))
        self.model["o0"] = bytearray()
        return "o0"

    @rule(target=objects, name=st.sampled_from(["o1", "o2", "o3"]))
    def create(self, name: str) -> str:
        self.store.apply(Transaction().touch(C, ObjectId(name)))
        self.model.setdefault(name, bytearray())
        return name

    @rule(
        name=objects,
        offset=st.integers(0, 6 * EXTENT_SIZE),
        length=st.one_of(st.integers(0, 300), st.integers(MIN_ALLOC, 4 * EXTENT_SIZE + 7)),
    )
    def write(self, name: str, offset: int, length: int) -> None:
        if name not in self.model:
            return
        data = self._data(length)
        self.store.apply(Transaction().write(C, ObjectId(name), offset, data))
        obj = self.model[name]
        obj.extend(bytes(max(0, offset - len(obj))))
        obj[offset : offset + length] = data

    @rule(name=objects, offset=st.integers(0, 6 * EXTENT_SIZE), length=st.integers(0, 3 << 16))
    def zero(self, name: str, offset: int, length: int) -> None:
        if name not in self.model:
            return
        self.store.apply(Transaction().zero(C, ObjectId(name), offset, length))
        obj = self.model[name]
        end = min(len(obj), offset + length)
        if offset < end:
            obj[offset:end] = bytes(end - offset)

    @rule(name=objects, size=st.integers(0, 7 * EXTENT_SIZE))
    def truncate(self, name: str, size: int) -> None:
        if name not in self.model:
            return
        self.store.apply(Transaction().truncate(C, ObjectId(name), size))
        obj = self.model[name]
        del obj[size:]
        obj.extend(bytes(size - len(obj)))

    @rule(src=objects, dst=st.sampled_from(["o1", "o2", "o3"]))
    def clone(self, src: str, dst: str) -> None:
        if src not in self.model or src == dst:
            return
        self.store.apply(Transaction().clone(C, ObjectId(src), ObjectId(dst)))
        self.model[dst] = bytearray(self.model[src])

    @rule(name=objects)
    def remove(self, name: str) -> None:
        if name not in self.model:
            return
        self.store.apply(Transaction().remove(C, ObjectId(name)))
        del self.model[name]

    @rule(name=objects, length=st.integers(MIN_ALLOC, 3 * EXTENT_SIZE))
    def failed_bulk_write_changes_nothing(self, name: str, length: int) -> None:
        txn = Transaction().write(C, ObjectId(name), 0, self._data(length))
        txn.write(C, ObjectId("missing"), 0, b"x")
        with pytest.raises(StoreError):
            self.store.apply(txn)

    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = ObjectStore.open(self.root)

    @invariant()
    def matches_the_model(self) -> None:
        for name, obj in self.model.items():
            assert self.store.read(C, ObjectId(name)) == obj
        assert self.store.fsck() == []

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.root.parent, ignore_errors=True)


TestBlockStoreMachine = BlockStoreMachine.TestCase
TestBlockStoreMachine.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)


# --- crash safety --------------------------------------------------------------------

OVERWRITER = r"""
import sys
from radospy.osd.objectstore import ObjectId, ObjectStore, Transaction

def pattern(i):
    return (b"%08d" % i) * ((1 << 20) // 8) + b"tail"

store = ObjectStore.open(sys.argv[1])
i = int(sys.argv[2])
while True:
    oid = ObjectId(f"obj{i % 3}")
    # In place, no truncate: every write replaces the same extents of the object.
    store.apply(
        Transaction().touch("1.0", oid).write("1.0", oid, 0, pattern(i))
        .setattrs("1.0", oid, {"gen": str(i).encode()})
    )
    print(i, flush=True)
    i += 1
"""


def _pattern(i: int) -> bytes:
    return (b"%08d" % i) * ((1 << 20) // 8) + b"tail"


def test_sigkill_during_bulk_overwrites_never_tears_an_object(tmp_path):
    with ObjectStore.mkfs(tmp_path) as s:
        s.apply(Transaction().mkcoll(C))
    start = 0
    for acks_before_kill in (2, 11, 5):
        proc = subprocess.Popen(
            [sys.executable, "-c", OVERWRITER, str(tmp_path), str(start)],
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert proc.stdout is not None
        acked = []
        for line in proc.stdout:
            acked.append(int(line))
            if len(acked) >= acks_before_kill:
                break
        proc.send_signal(signal.SIGKILL)
        acked += [int(line) for line in proc.stdout.read().split()]
        proc.wait()
        with ObjectStore.open(tmp_path) as s:
            for k in range(3):
                oid = ObjectId(f"obj{k}")
                last_acked = max((i for i in acked if i % 3 == k), default=None)
                if s.stat(C, oid) is None:
                    assert last_acked is None
                    continue
                gen = int(s.getxattr(C, oid, "gen"))
                assert last_acked is None or gen >= last_acked
                assert s.read(C, oid) == _pattern(gen)
            assert s.fsck() == []
        start = max(acked) + 1



def test_a_planned_read_reads_what_it_looked_up_across_overwrites(tmp_path):
    """A read planned before overwrites and filled after them returns the bytes it
    looked up (the units it pinned are not reused meanwhile), and those units are
    reused once it is done: the block file stops growing."""
    size = 20 * EXTENT_SIZE
    with ObjectStore.mkfs(tmp_path) as store:
        store.apply(Transaction().mkcoll(C).touch(C, A).write(C, A, 0, bytes([1]) * size))
        plan = store.plan_read(C, A)
        assert plan.io_bytes == size
        for gen in range(2, 5):
            store.apply(Transaction().write(C, A, 0, bytes([gen]) * size))
        plan.fill()
        assert plan.result == bytes([1]) * size
        store.apply(Transaction().write(C, A, 0, bytes([5]) * size))
        grown = os.path.getsize(tmp_path / BLOCK_NAME)
        for gen in range(6, 9):
            store.apply(Transaction().write(C, A, 0, bytes([gen]) * size))
        assert os.path.getsize(tmp_path / BLOCK_NAME) == grown
        assert store.read(C, A) == bytes([8]) * size
        assert store.fsck() == []
