"""Group commit in the object store: transactions applied from many threads at once
are each durable when `apply` returns, and one that fails takes none of the others
with it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from radospy.common.eversion import Eversion
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


# One group commit remembers object rows and collections across its transactions'
# steps (`store._Applier`): the batch must leave exactly what the same steps leave
# committed one by one.
OTHER = "1.5"
_NAMES = [ObjectId("a"), ObjectId("b"), ObjectId("a", snap=4)]
_step = st.tuples(
    st.sampled_from(["write", "bulk", "truncate", "zero", "remove", "clone", "info", "recreate"]),
    st.sampled_from([CID, OTHER]),
    st.integers(0, 2),
    st.integers(0, 2),
    st.integers(0, 3 * 65536),
)


def _txn(steps: list[tuple[str, str, int, int, int]], seed: int) -> Transaction:
    """Each step touches what it needs first, so every transaction applies."""
    txn = Transaction()
    for n, (kind, cid, i, j, at) in enumerate(steps):
        oid, other = _NAMES[i], _NAMES[j]
        if kind == "recreate":
            txn.rmcoll(OTHER).mkcoll(OTHER)
            continue
        txn.touch(cid, oid)
        if kind == "write":
            txn.write(cid, oid, at, bytes([seed + n & 0xFF]) * 5000)
        elif kind == "bulk":
            txn.write(cid, oid, at, bytes([seed + n & 0xFF]) * (2 * 65536))
        elif kind == "truncate":
            txn.truncate(cid, oid, at)
        elif kind == "zero":
            txn.zero(cid, oid, at, 70000)
        elif kind == "remove":
            txn.remove(cid, oid)
        elif kind == "clone" and other != oid:
            txn.clone(cid, oid, other)
        elif kind == "info":
            txn.set_object_info(cid, oid, Eversion(3, seed + n), seed + n)
    return txn


def _contents(store: ObjectStore) -> dict[tuple[str, ObjectId], tuple[object, bytes]]:
    return {
        (cid, oid): (store.stat(cid, oid), store.read(cid, oid))
        for cid in store.list_collections()
        for oid in store.list_objects(cid)
    }


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(st.lists(_step, min_size=1, max_size=5), min_size=1, max_size=6))
def test_one_group_commit_leaves_what_the_same_steps_leave_one_by_one(
    tmp_path_factory: pytest.TempPathFactory, batch: list[list[tuple[str, str, int, int, int]]]
) -> None:
    root = tmp_path_factory.mktemp("osd")
    with ObjectStore.mkfs(root / "alone") as alone, ObjectStore.mkfs(root / "group") as group:
        for store in (alone, group):
            store.apply(Transaction().mkcoll(CID).mkcoll(OTHER))
        txns = [_txn(steps, seed) for seed, steps in enumerate(batch)]
        for txn in txns:
            for op in txn.ops:
                alone.apply(Transaction().append(op))
        assert group.apply_many(txns) == [None] * len(txns)
        assert _contents(group) == _contents(alone)
        assert group.fsck() == []
