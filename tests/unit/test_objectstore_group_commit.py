"""Group commit in the object store: transactions applied from many threads at once
are each durable when `apply` returns, and one that fails takes none of the others
with it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from radospy.osd.objectstore import ObjectId, ObjectStore, StoreError, Transaction

CID = "1.0"


def _write(name: str, data: bytes) -> Transaction:
    oid = ObjectId(name)
    return Transaction().touch(CID, oid).write(CID, oid, 0, data)


def test_concurrent_applies_all_commit_and_a_bad_one_fails_alone(tmp_path: Path) -> None:
    store = ObjectStore.mkfs(tmp_path / "s")
    store.apply(Transaction().mkcoll(CID))
    start = threading.Barrier(24)
    errors: dict[str, BaseException] = {}

    def worker(i: int) -> None:
        name = f"obj{i}"
        # Every fourth one writes into a collection that does not exist.
        txn = _write(name, bytes([i]) * (100 + i))
        if i % 4 == 3:
            txn = Transaction().touch("9.9", ObjectId(name))
        start.wait()
        for _ in range(5):
            try:
                store.apply(txn)
            except StoreError as exc:
                errors[name] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(errors) == sorted(f"obj{i}" for i in range(24) if i % 4 == 3)
    store.close()
    with ObjectStore.open(tmp_path / "s", readonly=True) as reopened:
        for i in range(24):
            info = reopened.stat(CID, ObjectId(f"obj{i}"))
            if i % 4 == 3:
                assert info is None
            else:
                assert reopened.read(CID, ObjectId(f"obj{i}")) == bytes([i]) * (100 + i)
        assert reopened.list_collections() == [CID]


def test_a_failing_transaction_alone_changes_nothing(tmp_path: Path) -> None:
    with ObjectStore.mkfs(tmp_path / "s") as store:
        store.apply(Transaction().mkcoll(CID))
        bad = _write("a", b"1").touch("9.9", ObjectId("b"))
        with pytest.raises(StoreError):
            store.apply(bad)
        assert store.stat(CID, ObjectId("a")) is None
