"""Snapshots of objects: the SnapSet decisions (`radospy.osd.snaps`) case by case, and a
model-checked state machine that drives writes, removes, snap creates and removals,
rollbacks and reads at snaps through `execute`, `snap_txn` and the real SQLite store,
against a model that keeps a full copy of the object per snapshot."""

from __future__ import annotations

import errno
import tempfile

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from radospy.common import osdop as o
from radospy.common.eversion import Eversion
from radospy.osd import snap_txn
from radospy.osd.objectstore import ObjectId, ObjectStore, Transaction
from radospy.osd.objectstore.types import NOSNAP
from radospy.osd.ops import OpContext, execute
from radospy.osd.snaps import (
    SnapContext,
    SnapSet,
    after_write,
    intersect,
    make_writeable,
    resolve_read,
    subtract,
    trim,
)

CID = "1.0"
MTIME = 1_700_000_000_000_000_000


# --- the decisions ---------------------------------------------------------------------


def test_snap_context_validity():
    assert SnapContext(5, (5, 3, 1)).is_valid()
    assert SnapContext(0, ()).is_valid()
    assert not SnapContext(4, (5,)).is_valid()
    assert not SnapContext(5, (3, 5)).is_valid()
    assert not SnapContext(5, (3, 3)).is_valid()
    assert not SnapContext(5, (0,)).is_valid()
    assert SnapContext(5, (5, 3, 1)).without([3]) == SnapContext(5, (5, 1))


def test_first_write_after_a_snap_clones_the_head():
    clone = make_writeable(SnapSet(), SnapContext(2, (2, 1)), head_exists=True)
    assert clone is not None and clone.clone_id == 2 and clone.snaps == (2, 1)
    new = after_write(SnapSet(), SnapContext(2, (2, 1)), clone, 10, [(0, 4)])
    assert new.seq == 2 and new.clones == [2]
    assert new.clone_snaps[2] == [2, 1] and new.clone_size[2] == 10
    assert new.clone_overlap[2] == [(4, 6)]
    # A second write under the same context clones nothing.
    assert make_writeable(new, SnapContext(2, (2, 1)), head_exists=True) is None


def test_no_clone_without_a_head_or_without_new_snaps():
    assert make_writeable(SnapSet(), SnapContext(3, (3,)), head_exists=False) is None
    assert make_writeable(SnapSet(seq=3), SnapContext(3, (3,)), head_exists=True) is None
    # Newer seq but every newer snap already removed: nothing to preserve.
    assert make_writeable(SnapSet(seq=2), SnapContext(4, (2,)), head_exists=True) is None


def test_resolve_read():
    snapset = SnapSet(seq=6, clones=[2, 6], clone_snaps={2: [2, 1], 6: [5]})
    snapset.clone_size = {2: 1, 6: 1}
    snapset.clone_overlap = {2: [], 6: []}
    assert resolve_read(snapset, NOSNAP, True) == NOSNAP
    assert resolve_read(snapset, NOSNAP, False) is None
    assert resolve_read(snapset, 7, True) == NOSNAP
    assert resolve_read(snapset, 7, False) is None
    assert resolve_read(snapset, 1, True) == 2
    assert resolve_read(snapset, 2, True) == 2
    assert resolve_read(snapset, 5, True) == 6
    # Snap 3..4: the object was written after them; the clone 6 starts at 5.
    assert resolve_read(snapset, 3, True) is None


def test_trim_deletes_clones_without_snaps_and_merges_overlap():
    snapset = SnapSet(
        seq=5,
        clones=[1, 3, 5],
        clone_snaps={1: [1], 3: [3, 2], 5: [5]},
        clone_size={1: 8, 3: 8, 5: 8},
        clone_overlap={1: [(0, 6)], 3: [(2, 6)], 5: [(0, 8)]},
    )
    plan = trim(snapset, [3, 2])
    assert plan is not None and plan.delete == (3,)
    assert plan.snapset.clones == [1, 5]
    assert plan.snapset.clone_overlap[1] == [(2, 4)]
    assert trim(plan.snapset, [3, 2]) is None
    partial = trim(snapset, [2])
    assert partial is not None and partial.delete == ()
    assert partial.snapset.clone_snaps[3] == [3]


def test_extents():
    assert subtract([(0, 10)], [(2, 3)]) == [(0, 2), (5, 5)]
    assert subtract([(0, 10)], [(0, 2**63)]) == []
    assert intersect([(0, 5), (8, 4)], [(3, 7)]) == [(3, 2), (8, 2)]


# --- snap_txn on a real store ------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    s = ObjectStore.mkfs(tmp_path / "osd")
    s.apply(Transaction().mkcoll(CID))
    yield s
    s.close()


def _write(store, oid, ops, snapc, step):
    ctx = OpContext(MTIME + step, Eversion(1, step))
    result = execute(store, CID, oid, ops, ctx)
    assert result.rc == 0
    exists_after = not isinstance(ops[-1], o.Remove)
    store.apply(snap_txn.write(store, CID, oid, snapc, result.txn, exists_after))


def _read_at(store, oid, snap):
    target = snap_txn.read_target(store, CID, oid, snap)
    if target is None or store.stat(CID, target) is None:
        return None
    return store.read(CID, target)


def test_clone_keeps_xattrs_and_omap_and_removed_head_keeps_clones(store):
    oid = ObjectId("obj")
    first = [o.WriteFull(data=b"v1"), o.SetXattr(name="a", value=b"1")]
    _write(store, oid, first, SnapContext(), 1)
    store.apply(Transaction().omap_setkeys(CID, oid, {"k": b"v"}))
    _write(store, oid, [o.WriteFull(data=b"v2")], SnapContext(1, (1,)), 2)
    clone = snap_txn.clone_of(oid, 1)
    assert store.read(CID, clone) == b"v1"
    assert store.getxattrs(CID, clone) == {"a": b"1"}
    assert dict(store.omap_iter(CID, clone)) == {"k": b"v"}
    _write(store, oid, [o.Remove()], SnapContext(1, (1,)), 3)
    assert store.stat(CID, oid) is None
    assert _read_at(store, oid, 1) == b"v1"
    assert _read_at(store, oid, NOSNAP) is None
    # A listing of heads does not show clones or SnapSets.
    assert store.list_objects(CID, snap=NOSNAP) == []
    listing = snap_txn.list_snaps(store, CID, oid)
    assert listing is not None and [c.cloneid for c in listing.clones] == [1]
    # Trimming the last snap leaves nothing behind.
    trimmed = snap_txn.trim_object(store, CID, oid, [1])
    assert trimmed is not None and not trimmed.snapset_kept
    store.apply(trimmed.txn)
    assert store.list_objects(CID) == []


def test_rollback_paths(store):
    oid = ObjectId("obj")
    _write(store, oid, [o.WriteFull(data=b"one")], SnapContext(), 1)
    _write(store, oid, [o.WriteFull(data=b"two")], SnapContext(1, (1,)), 2)
    result = snap_txn.rollback(store, CID, oid, SnapContext(1, (1,)), 1, Eversion(1, 3), MTIME)
    store.apply(result.txn)
    assert store.read(CID, oid) == b"one"
    assert store.stat(CID, oid).version == Eversion(1, 3)
    # Rolling back to a snap from before the object existed removes the head.
    other = ObjectId("other")
    _write(store, other, [o.WriteFull(data=b"new")], SnapContext(1, (1,)), 4)
    result = snap_txn.rollback(store, CID, other, SnapContext(1, (1,)), 1, Eversion(1, 5), MTIME)
    store.apply(result.txn)
    assert not result.head_exists and store.stat(CID, other) is None


def test_check_request():
    assert snap_txn.check_request([o.Read()], 3) == 0
    assert snap_txn.check_request([o.WriteFull(data=b"x")], 3) == -errno.EROFS
    assert snap_txn.check_request([o.Rollback(snap=1), o.Read()], NOSNAP) == -errno.EINVAL
    assert snap_txn.check_request([o.ListSnaps()], NOSNAP) == 0


# --- the model ------------------------------------------------------------------------

data = st.binary(min_size=0, max_size=12)


def _patch(old: bytes | None, offset: int, new: bytes) -> bytes:
    buf = bytearray(old or b"")
    if len(buf) < offset + len(new):
        buf.extend(bytes(offset + len(new) - len(buf)))
    buf[offset : offset + len(new)] = new
    return bytes(buf)


class SnapMachine(RuleBasedStateMachine):
    """One object under pool-style snapshots: every snapshot's view must equal the copy
    the model took when the snapshot was made, whatever happened since."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.store = ObjectStore.mkfs(self.tmp.name)
        self.store.apply(Transaction().mkcoll(CID))
        self.oid = ObjectId("obj")
        self.head: bytes | None = None
        self.snaps: dict[int, bytes | None] = {}
        self.removed: set[int] = set()
        self.seq = 0
        self.step = 0

    def teardown(self) -> None:
        self.store.close()
        self.tmp.cleanup()

    def snapc(self) -> SnapContext:
        return SnapContext(self.seq, tuple(sorted(self.snaps, reverse=True)))

    def _apply(self, ops: list[o.OsdOp]) -> None:
        self.step += 1
        ctx = OpContext(MTIME + self.step, Eversion(1, self.step))
        result = execute(self.store, CID, self.oid, ops, ctx)
        assert result.rc == 0 and result.txn is not None
        exists = not isinstance(ops[-1], o.Remove)
        self.store.apply(
            snap_txn.write(self.store, CID, self.oid, self.snapc(), result.txn, exists)
        )

    @rule(offset=st.integers(0, 16), payload=data)
    def write(self, offset: int, payload: bytes) -> None:
        self._apply([o.Write(offset=offset, data=payload)])
        self.head = _patch(self.head, offset, payload) if payload else (self.head or b"")
        if offset > len(self.head):
            self.head = self.head.ljust(offset, b"\0")

    @rule(payload=data)
    def write_full(self, payload: bytes) -> None:
        self._apply([o.WriteFull(data=payload)])
        self.head = payload

    @precondition(lambda self: self.head is not None)
    @rule(size=st.integers(0, 20))
    def truncate(self, size: int) -> None:
        self._apply([o.Truncate(size=size)])
        assert self.head is not None
        self.head = self.head[:size].ljust(size, b"\0")

    @precondition(lambda self: self.head is not None)
    @rule()
    def remove(self) -> None:
        self._apply([o.Remove()])
        self.head = None

    @rule()
    def mksnap(self) -> None:
        self.seq += 1
        self.snaps[self.seq] = self.head

    @precondition(lambda self: bool(self.snaps))
    @rule(data=st.data())
    def rmsnap(self, data: st.DataObject) -> None:
        snap = data.draw(st.sampled_from(sorted(self.snaps)))
        del self.snaps[snap]
        self.removed.add(snap)
        # Removing a snapshot takes a new id, as the monitors do.
        self.seq += 1
        trimmed = snap_txn.trim_object(self.store, CID, self.oid, self.removed)
        if trimmed is not None:
            self.store.apply(trimmed.txn)

    @precondition(lambda self: bool(self.snaps))
    @rule(data=st.data())
    def rollback(self, data: st.DataObject) -> None:
        snap = data.draw(st.sampled_from(sorted(self.snaps)))
        self.step += 1
        result = snap_txn.rollback(
            self.store, CID, self.oid, self.snapc(), snap, Eversion(1, self.step), MTIME
        )
        self.store.apply(result.txn)
        self.head = self.snaps[snap]
        assert result.head_exists == (self.head is not None)

    @invariant()
    def every_snap_reads_as_taken(self) -> None:
        assert _read_at(self.store, self.oid, NOSNAP) == self.head
        for snap, expected in self.snaps.items():
            assert _read_at(self.store, self.oid, snap) == expected, f"snap {snap}"

    @invariant()
    def clones_share_what_overlap_says(self) -> None:
        snapset = snap_txn.load_snapset(self.store, CID, self.oid) or SnapSet()
        newer = [*snapset.clones[1:], NOSNAP][: len(snapset.clones)]
        for clone_id, next_id in zip(snapset.clones, newer, strict=True):
            mine = self.store.read(CID, snap_txn.clone_of(self.oid, clone_id))
            assert len(mine) == snapset.clone_size[clone_id]
            nxt_oid = self.oid if next_id == NOSNAP else snap_txn.clone_of(self.oid, next_id)
            nxt = self.store.read(CID, nxt_oid) if self.store.stat(CID, nxt_oid) else b""
            for off, length in snapset.clone_overlap[clone_id]:
                assert mine[off : off + length] == nxt[off : off + length]
            # No clone outlives every snap it stood for.
            assert set(snapset.clone_snaps[clone_id]) - self.removed

    @invariant()
    def nothing_left_behind(self) -> None:
        stored = self.store.list_objects(CID)
        if self.head is None and not any(v is not None for v in self.snaps.values()):
            assert stored == []


TestSnapMachine = SnapMachine.TestCase
TestSnapMachine.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
