"""The SQLite object store: data in checksummed extents, transactions, listing, PG logs,
crash safety under SIGKILL, on-disk corruption and bad data dirs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radospy.common.eversion import Eversion
from radospy.osd.objectstore import (
    EXTENT_SIZE,
    NOSNAP,
    ChecksumError,
    ObjectId,
    ObjectStore,
    StoreError,
    StoreNotFound,
    Transaction,
)
from radospy.osd.objectstore.store import DB_NAME, MAX_OBJECT_SIZE

C = "1.4"
A = ObjectId("a")


@pytest.fixture
def store(tmp_path):
    s = ObjectStore.mkfs(tmp_path / "osd")
    s.apply(Transaction().mkcoll(C))
    yield s
    s.close()


def put(store: ObjectStore, oid: ObjectId, data: bytes) -> None:
    store.apply(Transaction().touch(C, oid).truncate(C, oid, 0).write(C, oid, 0, data))


# --- opening -------------------------------------------------------------------------


def test_mkfs_then_open_keeps_data(tmp_path):
    with ObjectStore.mkfs(tmp_path / "osd") as s:
        s.apply(
            Transaction().mkcoll(C).touch(C, A).write(C, A, 0, b"kept").set_meta("whoami", b"3")
        )
    with ObjectStore.open(tmp_path / "osd") as s:
        assert s.read(C, A) == b"kept"
        assert s.get_meta("whoami") == b"3"
        assert s.list_collections() == [C]


def test_mkfs_refuses_an_existing_store(tmp_path):
    ObjectStore.mkfs(tmp_path).close()
    with pytest.raises(StoreError, match="already exists"):
        ObjectStore.mkfs(tmp_path)


def test_missing_dir_and_missing_db_are_clear_errors(tmp_path):
    with pytest.raises(StoreNotFound, match="does not exist"):
        ObjectStore.open(tmp_path / "absent")
    with pytest.raises(StoreNotFound, match="run mkfs"):
        ObjectStore.open(tmp_path)


def test_garbage_db_is_reported_corrupt(tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"not a database at all" * 200)
    with pytest.raises(StoreError, match="corrupt"):
        ObjectStore.open(tmp_path)


def test_foreign_sqlite_db_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / DB_NAME)
    db.execute("CREATE TABLE meta(key TEXT, value BLOB)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="unknown format"):
        ObjectStore.open(tmp_path)
    (tmp_path / DB_NAME).unlink()
    sqlite3.connect(tmp_path / DB_NAME).execute("CREATE TABLE other(x)").connection.close()
    with pytest.raises(StoreError, match="corrupt"):
        ObjectStore.open(tmp_path)


def test_truncated_db_file_is_reported(tmp_path):
    with ObjectStore.mkfs(tmp_path) as s:
        s.apply(Transaction().mkcoll(C))
    path = tmp_path / DB_NAME
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(StoreError):
        ObjectStore.open(tmp_path)


def test_readonly_reader_cannot_write(store, tmp_path):
    put(store, A, b"x")
    with ObjectStore.open(tmp_path / "osd", readonly=True) as reader:
        assert reader.read(C, A) == b"x"
        with pytest.raises(StoreError, match="read-only"):
            reader.apply(Transaction().mkcoll("2.0"))


# --- data ----------------------------------------------------------------------------


def test_sparse_write_reads_zeros(store):
    store.apply(Transaction().touch(C, A).write(C, A, 3 * EXTENT_SIZE + 5, b"tail"))
    assert store.stat(C, A).size == 3 * EXTENT_SIZE + 9
    assert store.read(C, A, 0, 10) == bytes(10)
    assert store.read(C, A, 3 * EXTENT_SIZE) == bytes(5) + b"tail"
    assert store.fsck() == []


def test_read_of_missing_object(store):
    with pytest.raises(StoreNotFound):
        store.read(C, A)
    assert store.stat(C, A) is None


ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("write"),
            st.integers(0, 4 * EXTENT_SIZE),
            st.integers(0, 2 * EXTENT_SIZE + 3),
        ),
        st.tuples(
            st.just("zero"), st.integers(0, 4 * EXTENT_SIZE), st.integers(0, 2 * EXTENT_SIZE)
        ),
        st.tuples(st.just("truncate"), st.integers(0, 5 * EXTENT_SIZE), st.just(0)),
    ),
    max_size=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=ops, read_at=st.integers(0, 5 * EXTENT_SIZE), read_len=st.integers(0, EXTENT_SIZE))
def test_data_steps_match_a_bytearray(tmp_path_factory, steps, read_at, read_len):
    with ObjectStore.mkfs(tmp_path_factory.mktemp("osd")) as s:
        s.apply(Transaction().mkcoll(C).touch(C, A))
        model = bytearray()
        for n, (kind, at, length) in enumerate(steps):
            txn = Transaction()
            if kind == "write":
                data = bytes([n + 1]) * length
                txn.write(C, A, at, data)
                model.extend(bytes(max(0, at - len(model))))
                model[at : at + length] = data
            elif kind == "zero":
                txn.zero(C, A, at, length)
                end = min(len(model), at + length)
                if at < end:
                    model[at:end] = bytes(end - at)
            else:
                txn.truncate(C, A, at)
                del model[at:]
                model.extend(bytes(at - len(model)))
            s.apply(txn)
        assert s.stat(C, A).size == len(model)
        assert s.read(C, A) == model
        assert s.read(C, A, read_at, read_len) == model[read_at : read_at + read_len]
        assert s.read_buffer(C, A, read_at, read_len) == model[read_at : read_at + read_len]
        assert s.fsck() == []


def test_small_read_of_a_big_object_loads_only_its_extents(store):
    size = 32 << 20
    store.apply(Transaction().touch(C, A).write(C, A, 0, os.urandom(size)))
    tracemalloc.start()
    chunk = store.read(C, A, size // 2, 4096)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(chunk) == 4096
    assert peak < 1 << 20


def test_read_buffer_of_a_big_object_is_its_only_copy(store):
    size = 4 << 20
    data = os.urandom(size)
    store.apply(Transaction().touch(C, A).write(C, A, 0, data))
    tracemalloc.start()
    view = store.read_buffer(C, A)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert view == data
    assert peak < size + (1 << 20)


def test_a_big_read_over_holes_and_inline_extents_shows_zeros_not_old_buffers(store):
    size = 2 << 20
    for _ in range(2):  # the second round reads into buffers the first one freed
        model = bytearray(os.urandom(size))
        store.apply(Transaction().touch(C, A).write(C, A, 0, bytes(model)))
        assert store.read_buffer(C, A) == model
        txn = Transaction().zero(C, A, 3 * EXTENT_SIZE, EXTENT_SIZE)
        txn.write(C, A, 9 * EXTENT_SIZE + 5, b"tiny").truncate(C, A, size + 100)
        store.apply(txn)
        model[3 * EXTENT_SIZE : 4 * EXTENT_SIZE] = bytes(EXTENT_SIZE)
        model[9 * EXTENT_SIZE + 5 : 9 * EXTENT_SIZE + 9] = b"tiny"
        model += bytes(100)
        assert store.read_buffer(C, A) == model
        assert store.read_buffer(C, A, EXTENT_SIZE + 7, size) == model[EXTENT_SIZE + 7 :]
        store.apply(Transaction().remove(C, A))


def test_read_buffer_past_the_end_and_past_the_largest_object(store):
    put(store, A, b"abc")
    put(store, ObjectId("b"), b"xyz")  # its extents follow the last one A could have
    assert store.read_buffer(C, A, 3) == b""
    assert store.read_buffer(C, A, 1, 0) == b""
    assert store.read_buffer(C, A, MAX_OBJECT_SIZE, 10) == b""
    assert store.read_buffer(C, A, 1, 10) == b"bc"
    with pytest.raises(StoreNotFound):
        store.read_buffer(C, ObjectId("missing"))


# --- transactions --------------------------------------------------------------------


def test_failed_step_rolls_back_the_whole_transaction(store):
    put(store, A, b"before")
    txn = (
        Transaction()
        .write(C, A, 0, b"AFTER!")
        .setattrs(C, A, {"x": b"1"})
        .write(C, ObjectId("missing"), 0, b"boom")
    )
    with pytest.raises(StoreNotFound):
        store.apply(txn)
    assert store.read(C, A) == b"before"
    assert store.getxattrs(C, A) == {}
    store.apply(Transaction().setattrs(C, A, {"y": b"2"}))
    assert store.getxattrs(C, A) == {"y": b"2"}


def test_objects_need_their_collection(store):
    with pytest.raises(StoreNotFound, match=r"collection 9\.9"):
        store.apply(Transaction().touch("9.9", A))


def test_transaction_survives_the_wire(store):
    txn = (
        Transaction()
        .touch(C, A)
        .write(C, A, 5, b"data")
        .setattrs(C, A, {"a": b"1"})
        .omap_setkeys(C, A, {"k": b"v"})
        .omap_setheader(C, A, b"h")
        .set_object_info(C, A, Eversion(4, 7), 123)
        .pglog_append(C, Eversion(4, 7), b"entry")
        .set_pginfo(C, b"info")
    )
    store.apply(Transaction.decode(txn.encode()))
    info = store.stat(C, A)
    assert (info.size, info.version, info.mtime_ns) == (9, Eversion(4, 7), 123)
    assert store.pglog(C) == [(Eversion(4, 7), b"entry")]
    assert store.pginfo(C) == b"info"


def test_xattrs_and_omap(store):
    store.apply(
        Transaction()
        .touch(C, A)
        .setattrs(C, A, {"b": b"2", "a": b"1"})
        .rmattr(C, A, "b")
        .omap_setkeys(C, A, {f"k{i:04}": str(i).encode() for i in range(600)})
        .omap_setkeys(C, A, {"p/1": b"x", "p/2": b"y", "q": b"z"})
        .omap_rmkeys(C, A, ["k0000"])
        .omap_rmkeyrange(C, A, "k0100", "k0200")
        .omap_setheader(C, A, b"hdr")
    )
    assert store.getxattrs(C, A) == {"a": b"1"}
    assert store.getxattr(C, A, "b") is None
    keys = [k for k, _ in store.omap_iter(C, A)]
    assert len(keys) == 599 - 100 + 3 and keys == sorted(keys)
    assert list(store.omap_iter(C, A, prefix="p/")) == [("p/1", b"x"), ("p/2", b"y")]
    assert [k for k, _ in store.omap_iter(C, A, start_after="k0599")] == ["p/1", "p/2", "q"]
    assert store.omap_get_vals_by_keys(C, A, ["q", "nope", "k0001"]) == {
        "k0001": b"1",
        "q": b"z",
    }
    assert store.omap_get_header(C, A) == b"hdr"
    store.apply(Transaction().omap_clear(C, A))
    assert list(store.omap_iter(C, A)) == []
    assert store.omap_get_header(C, A) == b""


def test_list_objects_sorted_paged_and_by_namespace(store):
    oids = [ObjectId(f"o{i:03}", ns) for i in range(25) for ns in ("", "ns1")]
    oids += [ObjectId("o000", "", 5), ObjectId("\u00e9", "")]
    txn = Transaction()
    for oid in oids:
        txn.touch(C, oid)
    store.apply(txn)
    listed: list[ObjectId] = []
    cursor = None
    while page := store.list_objects(C, after=cursor, limit=7):
        listed += page
        cursor = page[-1]
    assert listed == sorted(oids)
    assert listed == sorted(oids, key=ObjectId.sort_key)
    assert listed.index(ObjectId("o000", "", 5)) < listed.index(ObjectId("o000", "", NOSNAP))
    in_ns1 = store.list_objects(C, nspace="ns1", limit=100)
    assert in_ns1 == sorted((o for o in oids if o.nspace == "ns1"), key=ObjectId.sort_key)
    with pytest.raises(StoreNotFound):
        store.list_objects("7.7")


def test_pglog_trim_info_and_collection_removal(store):
    txn = Transaction().mkcoll("1.5")
    for v in range(1, 11):
        txn.pglog_append(C, Eversion(2, v), f"e{v}".encode())
    txn.pglog_append(C, Eversion(3, 11), b"e11").set_pginfo(C, b"info")
    store.apply(txn.touch(C, A).write(C, A, 0, b"x").touch("1.5", A))
    store.apply(Transaction().pglog_trim(C, Eversion(2, 8)))
    assert [v for v, _ in store.pglog(C)] == [Eversion(2, 9), Eversion(2, 10), Eversion(3, 11)]
    assert store.pginfo("1.5") is None
    store.apply(Transaction().rmcoll(C))
    assert store.list_collections() == ["1.5"]
    assert store.pglog(C) == []
    assert store.stat("1.5", A) is not None
    assert store.fsck() == []


def test_statfs_counts_objects_and_bytes(store):
    empty = store.statfs()
    put(store, A, os.urandom(300_000))
    put(store, ObjectId("b"), b"12345")
    stats = store.statfs()
    assert (stats.num_objects, stats.stored) == (2, 300_005)
    # rows partly live in pages the empty store already had (the tables' root pages)
    assert stats.used > empty.used + 250_000
    assert 0 < stats.available <= stats.total


# --- corruption ----------------------------------------------------------------------


def test_flipped_byte_on_disk_is_caught_on_read(tmp_path):
    first, second = b"A" * EXTENT_SIZE, b"CORRUPT-ME!!" * (EXTENT_SIZE // 12)
    with ObjectStore.mkfs(tmp_path) as s:
        s.apply(Transaction().mkcoll(C).touch(C, A).write(C, A, 0, first + second))
    # A clean close checkpoints the WAL, so the extent is in the main file.
    path = tmp_path / DB_NAME
    raw = bytearray(path.read_bytes())
    at = raw.index(b"CORRUPT-ME!!") + 100
    raw[at] ^= 0x01
    path.write_bytes(bytes(raw))
    with ObjectStore.open(tmp_path) as s:
        assert s.read(C, A, 0, 100) == b"A" * 100
        with pytest.raises(ChecksumError) as caught:
            s.read(C, A)
        assert caught.value.offset == EXTENT_SIZE
        assert caught.value.oid == A and caught.value.collection == C
        assert f"offset {EXTENT_SIZE}" in str(caught.value)
        assert any("checksum mismatch" in p for p in s.fsck())


def test_partial_write_over_a_damaged_extent_is_refused(tmp_path, store):
    put(store, A, b"x" * 1000)
    db = sqlite3.connect(tmp_path / "osd" / DB_NAME)
    db.execute("UPDATE extents SET data=?", (b"y" * 1000,))
    db.commit()
    db.close()
    with pytest.raises(ChecksumError):
        store.apply(Transaction().write(C, A, 10, b"z"))


# --- crash safety --------------------------------------------------------------------

WRITER = r"""
import sys
from radospy.common.eversion import Eversion
from radospy.osd.objectstore import ObjectId, ObjectStore, Transaction

def pattern(i):
    size = 40_000 + (i * 7919) % 260_000
    return (b"%08d" % i * (size // 8 + 1))[:size]

store = ObjectStore.open(sys.argv[1])
i = int(sys.argv[2])
while True:
    oid = ObjectId(f"obj{i % 5}")
    store.apply(
        Transaction()
        .touch("1.0", oid)
        .truncate("1.0", oid, 0)
        .write("1.0", oid, 0, pattern(i))
        .setattrs("1.0", oid, {"gen": str(i).encode()})
        .omap_setkeys("1.0", oid, {"gen": str(i).encode()})
        .pglog_append("1.0", Eversion(1, i), b"entry %d" % i)
    )
    print(i, flush=True)
    i += 1
"""


def pattern(i: int) -> bytes:
    size = 40_000 + (i * 7919) % 260_000
    return (b"%08d" % i * (size // 8 + 1))[:size]


def run_writer_and_kill(path: Path, start: int, acks_before_kill: int) -> list[int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(start)],
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
    # Lines already written before the kill were acknowledged too.
    acked += [int(line) for line in proc.stdout.read().split()]
    proc.wait()
    return acked


def test_sigkill_mid_run_loses_no_acknowledged_transaction(tmp_path):
    with ObjectStore.mkfs(tmp_path) as s:
        s.apply(Transaction().mkcoll("1.0"))
    start = 0
    for acks_before_kill in (3, 17, 40, 9):
        acked = run_writer_and_kill(tmp_path, start, acks_before_kill)
        assert acked, "the writer acknowledged nothing"
        with ObjectStore.open(tmp_path) as s:
            logged = {v.version for v, _ in s.pglog("1.0")}
            assert set(acked) <= logged
            for k in range(5):
                oid = ObjectId(f"obj{k}")
                last_acked = max((i for i in acked if i % 5 == k), default=None)
                info = s.stat("1.0", oid)
                if info is None:
                    assert last_acked is None
                    continue
                gen = int(s.getxattr("1.0", oid, "gen"))
                assert last_acked is None or gen >= last_acked
                assert gen <= max(acked) + 1
                # never torn: data, size, xattr and omap all from one transaction
                assert info.size == len(pattern(gen))
                assert s.read("1.0", oid) == pattern(gen)
                assert dict(s.omap_iter("1.0", oid)) == {"gen": str(gen).encode()}
            assert s.fsck() == []
            start = max(logged) + 1
