"""Snapshots in the object store: the transactions that clone, roll back and trim.

The decisions are :mod:`radospy.osd.snaps`'; this module reads what they need from the
store (through the read API only) and returns store `Transaction`s, so the PG applies
them like any write: in one transaction with its log entry, on every acting OSD.

Layout, per object `NAME` of a collection:

- the head is `ObjectId(NAME, NS)` (snap `NOSNAP`), as without snapshots;
- clone `C` is `ObjectId(NAME, NS, C)`: a full copy of the head made by the write that
  first changed it after snap `C`'s context (data, xattrs, omap, version, mtime);
- the SnapSet is the attribute `snapset` of `ObjectId(NAME, NS, SNAPDIR)`, kept while
  the head was ever written under a snap context, and while clones remain after the
  head was removed (Ceph's snapdir), so reads at snaps still find them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from errno import EINVAL, EROFS
from typing import Protocol

from radospy.common import osdop as o
from radospy.common.eversion import Eversion
from radospy.mon.state import PoolExtras
from radospy.osd.objectstore.transaction import (
    CloneObject,
    RemoveObject,
    Transaction,
    TruncateData,
    WriteData,
    ZeroData,
)
from radospy.osd.objectstore.types import NOSNAP, ObjectId, ObjectInfo
from radospy.osd.snaps import (
    SNAPDIR,
    Clone,
    Extent,
    SnapContext,
    SnapSet,
    after_write,
    make_writeable,
    resolve_read,
    rollback_overlap,
    trim,
    truncated,
)

SNAPSET_ATTR = "snapset"
SNAP_HEAD = NOSNAP
"""`librados::SNAP_HEAD`: the clone id list_snaps gives the head."""
_WHOLE = truncated(0)


class SnapStore(Protocol):
    """The read API of `ObjectStore` this module uses."""

    def stat(self, cid: str, oid: ObjectId) -> ObjectInfo | None: ...

    def getxattr(self, cid: str, oid: ObjectId, name: str) -> bytes | None: ...

    def list_objects(
        self,
        cid: str,
        *,
        after: ObjectId | None = None,
        limit: int = 1000,
        nspace: str | None = None,
        snap: int | None = None,
    ) -> list[ObjectId]: ...


def snapdir_of(oid: ObjectId) -> ObjectId:
    """Where the SnapSet of object `oid` lives."""
    return ObjectId(oid.name, oid.nspace, SNAPDIR)


def clone_of(oid: ObjectId, clone_id: int) -> ObjectId:
    """Clone `clone_id` of object `oid`."""
    return ObjectId(oid.name, oid.nspace, clone_id)


def load_snapset(store: SnapStore, cid: str, oid: ObjectId) -> SnapSet | None:
    """The SnapSet of head `oid`, None when it has none."""
    where = snapdir_of(oid)
    if store.stat(cid, where) is None:
        return None
    raw = store.getxattr(cid, where, SNAPSET_ATTR)
    return SnapSet.decode(raw) if raw is not None else None


def modified_extents(txn: Transaction, oid: ObjectId) -> list[Extent]:
    """The extents of `oid` that `txn`'s steps change (a removal or a clone onto it
    changes everything)."""
    out: list[Extent] = []
    for op in txn.ops:
        if isinstance(op, WriteData) and op.oid == oid:
            out.append((op.offset, len(op.data)))
        elif isinstance(op, ZeroData) and op.oid == oid:
            out.append((op.offset, op.length))
        elif isinstance(op, TruncateData) and op.oid == oid:
            out.append(truncated(op.size))
        elif isinstance(op, RemoveObject | CloneObject) and _target(op) == oid:
            out.append(_WHOLE)
    return out


def _target(op: RemoveObject | CloneObject) -> ObjectId:
    return op.oid if isinstance(op, RemoveObject) else op.dst


def _save(
    txn: Transaction,
    cid: str,
    oid: ObjectId,
    old: SnapSet | None,
    new: SnapSet,
    head_exists: bool,
) -> None:
    """Store `new` in place of `old`, or drop the SnapSet when nothing needs it."""
    where = snapdir_of(oid)
    if not head_exists and not new.clones:
        if old is not None:
            txn.remove(cid, where)
        return
    if old is None or new != old:
        txn.touch(cid, where)
        txn.setattrs(cid, where, {SNAPSET_ATTR: new.encode()})


@dataclass(frozen=True)
class _Writeable:
    """A head made writeable under a snap context: the SnapSet as stored (`old`, None when
    there is none) and as the write starts from, the head's info, the clone the write
    must make first (None: none) and a transaction that already holds that clone."""

    old: SnapSet | None
    snapset: SnapSet
    head: ObjectInfo | None
    clone: Clone | None
    txn: Transaction

    @property
    def head_size(self) -> int:
        return self.head.size if self.head is not None else 0


def _make_writeable(
    store: SnapStore, cid: str, oid: ObjectId, snapc: SnapContext, old: SnapSet | None
) -> _Writeable:
    snapset = old or SnapSet()
    head = store.stat(cid, oid)
    clone = make_writeable(snapset, snapc, head is not None)
    txn = Transaction()
    if clone is not None:
        txn.clone(cid, oid, clone_of(oid, clone.clone_id))
    return _Writeable(old, snapset, head, clone, txn)


def write(
    store: SnapStore,
    cid: str,
    oid: ObjectId,
    snapc: SnapContext,
    txn: Transaction,
    head_exists_after: bool,
) -> Transaction:
    """The write `txn` to head `oid` under `snapc`, with the clone it must make first
    and its SnapSet update."""
    old = load_snapset(store, cid, oid)
    if old is None and snapc.seq == 0:
        return txn
    w = _make_writeable(store, cid, oid, snapc, old)
    w.txn.ops.extend(txn.ops)
    new = after_write(w.snapset, snapc, w.clone, w.head_size, modified_extents(txn, oid))
    _save(w.txn, cid, oid, w.old, new, head_exists_after)
    return w.txn


def read_target(store: SnapStore, cid: str, oid: ObjectId, snap: int) -> ObjectId | None:
    """The stored object a read of `oid` at `snap` reads: the head, a clone, or None
    when the object did not exist at that snap."""
    if snap == NOSNAP:
        return oid
    snapset = load_snapset(store, cid, oid) or SnapSet()
    found = resolve_read(snapset, snap, store.stat(cid, oid) is not None)
    if found is None:
        return None
    return oid if found == NOSNAP else clone_of(oid, found)


def list_snaps(store: SnapStore, cid: str, oid: ObjectId) -> o.SnapList | None:
    """The clones and head of `oid` (None when it has neither)."""
    snapset = load_snapset(store, cid, oid) or SnapSet()
    head = store.stat(cid, oid)
    if head is None and not snapset.clones:
        return None
    clones = [
        o.CloneInfo(
            c,
            sorted(snapset.clone_snaps[c]),
            list(snapset.clone_overlap[c]),
            snapset.clone_size[c],
        )
        for c in snapset.clones
    ]
    if head is not None:
        clones.append(o.CloneInfo(SNAP_HEAD, [], [], head.size))
    return o.SnapList(clones, snapset.seq)


class SnapError(Exception):
    """A snapshot op that fails with errno `rc` (negative) and changes nothing."""

    def __init__(self, rc: int) -> None:
        super().__init__(rc)
        self.rc = rc


@dataclass(frozen=True)
class RollbackResult:
    """A rollback's transaction and whether the head exists after it."""

    txn: Transaction
    head_exists: bool


def rollback(
    store: SnapStore,
    cid: str,
    oid: ObjectId,
    snapc: SnapContext,
    snap: int,
    version: Eversion,
    mtime_ns: int,
) -> RollbackResult:
    """Ceph's `_rollback_to`: the head becomes its state at `snap` (a copy of the
    clone that holds it; removed when it did not exist then; unchanged when it has not
    changed since). Like any write, the head is cloned first when `snapc` asks for it."""
    w = _make_writeable(store, cid, oid, snapc, load_snapset(store, cid, oid))
    head, out = w.head, w.txn
    new = after_write(w.snapset, snapc, w.clone, w.head_size, [])
    target = resolve_read(new, snap, head is not None)
    head_exists = head is not None
    if target is None and head is not None:
        out.remove(cid, oid)
        new = after_write(new, snapc, None, 0, [_WHOLE])
        head_exists = False
    elif target is not None and target != NOSNAP:
        out.clone(cid, clone_of(oid, target), oid)
        out.set_object_info(cid, oid, version, mtime_ns)
        new.clone_overlap[new.clones[-1]] = rollback_overlap(new, target)
        head_exists = True
    _save(out, cid, oid, w.old, new, head_exists)
    return RollbackResult(out, head_exists)


def snap_objects(store: SnapStore, cid: str, oid: ObjectId) -> list[ObjectId]:
    """The objects that hold head `oid`'s snapshots: its SnapSet object and clones
    (what recovery must copy along with the head)."""
    snapset = load_snapset(store, cid, oid)
    if snapset is None:
        return []
    return [snapdir_of(oid), *(clone_of(oid, c) for c in snapset.clones)]


def objects_with_snapsets(store: SnapStore, cid: str, page: int = 1024) -> Iterator[ObjectId]:
    """The heads (present or not) of every object of a collection that has a SnapSet."""
    after: ObjectId | None = None
    while True:
        found = store.list_objects(cid, after=after, limit=page, snap=SNAPDIR)
        for where in found:
            yield ObjectId(where.name, where.nspace)
        if len(found) < page:
            return
        after = found[-1]


@dataclass(frozen=True)
class TrimResult:
    """The transaction that trims one object's clones, and whether it leaves the
    object's SnapSet in place."""

    txn: Transaction
    snapset_kept: bool


def trim_object(
    store: SnapStore, cid: str, oid: ObjectId, removed: Iterable[int]
) -> TrimResult | None:
    """Delete the clones of `oid` that stand only for `removed` snaps and drop those
    snaps from the rest (None when nothing changes)."""
    old = load_snapset(store, cid, oid)
    if old is None:
        return None
    plan = trim(old, removed)
    if plan is None:
        return None
    txn = Transaction()
    for clone_id in plan.delete:
        txn.remove(cid, clone_of(oid, clone_id))
    head_exists = store.stat(cid, oid) is not None
    _save(txn, cid, oid, old, plan.snapset, head_exists)
    return TrimResult(txn, head_exists or bool(plan.snapset.clones))


def write_context(
    pool_snaps: bool, extras: PoolExtras | None, seq: int, snaps: Sequence[int]
) -> SnapContext | None:
    """The SnapContext a write runs under: the pool's in pool-snaps mode, else the
    client's (None when it is not valid: EINVAL), less the snaps already removed."""
    extras = extras or PoolExtras()
    if pool_snaps:
        snapc = SnapContext(extras.snap_seq, tuple(sorted(extras.snaps, reverse=True)))
    else:
        snapc = SnapContext(seq, tuple(snaps))
        if not snapc.is_valid():
            return None
    return snapc.without(extras.removed_snaps)


def check_request(ops: list[o.OsdOp], snap: int) -> int:
    """0, or the errno (negative) of a request that mixes snapshot ops wrongly: a
    write at a snap (EROFS), or a rollback/list_snaps with other ops (EINVAL)."""
    special = [op for op in ops if isinstance(op, o.Rollback | o.ListSnaps)]
    if special and len(ops) != 1:
        return -EINVAL
    if snap != NOSNAP and o.may_write(ops):
        return -EROFS
    return 0
