"""Snapshots of one object, as Ceph's OSD keeps them: SnapContext, SnapSet, clone on write.

A pure core: no store, no I/O. :mod:`radospy.osd.snap_txn` turns its decisions into
store transactions.

- A write carries a `SnapContext` (`seq`, `snaps` newest first): the pool's own for
  pool snapshots, the client's for self-managed ones.
- Every object has a `SnapSet`: the newest snap id its head was written under (`seq`)
  and its clones, oldest first, each with the snaps it stands for (newest first, as
  Ceph's `clone_snaps`), its size and the extents it shares with the next newer clone
  or the head (`clone_overlap`).
- `make_writeable` (Ceph's `PrimaryLogPG::make_writeable`): a write whose context is
  newer than the SnapSet (`snapc.seq > snapset.seq`) to an existing head first copies
  the head to a clone named by `snapc.seq` that stands for the context's snaps newer
  than `snapset.seq`; then `snapset.seq` becomes `snapc.seq`.
- `resolve_read` (Ceph's `find_object_context`): a read at snap S sees the head when S
  is newer than `snapset.seq`, else the oldest clone whose id is at least S, provided
  that clone's oldest snap is at most S; anything else did not exist at S (ENOENT).
- `trim` (Ceph's snap trimmer): removed snaps leave the clones' snap lists; a clone
  left with none is deleted and its overlap folded into the next older clone's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import msgspec

from radospy.osd.objectstore.types import NOSNAP

SNAPDIR = 2**64 - 1
"""`CEPH_SNAPDIR`: the snap id that addresses an object's SnapSet (listsnaps)."""

Extent = tuple[int, int]
"""(offset, length)."""

_END = 2**63
"""Past the end of any object: a truncate modifies everything from its size on."""


class SnapContext(msgspec.Struct, frozen=True, array_like=True):
    """`SnapContext`: the newest snap id the writer knows of and the live snaps, newest
    first."""

    seq: int = 0
    snaps: tuple[int, ...] = ()

    def is_valid(self) -> bool:
        """Ceph's `SnapContext::is_valid`: snaps strictly descending, none above `seq`,
        no reserved ids."""
        if not 0 <= self.seq < NOSNAP:
            return False
        if self.snaps and self.snaps[0] > self.seq:
            return False
        if any(s <= 0 for s in self.snaps):
            return False
        return all(a > b for a, b in zip(self.snaps, self.snaps[1:], strict=False))

    def without(self, removed: Iterable[int]) -> SnapContext:
        """The same context less the snaps already removed from the pool."""
        gone = set(removed)
        return SnapContext(self.seq, tuple(s for s in self.snaps if s not in gone))


class SnapSet(msgspec.Struct, array_like=True):
    """`SnapSet`: what an object's clones stand for. `clones` ascending; the dicts are
    keyed by clone id."""

    seq: int = 0
    clones: list[int] = msgspec.field(default_factory=list)
    clone_snaps: dict[int, list[int]] = msgspec.field(default_factory=dict)
    clone_size: dict[int, int] = msgspec.field(default_factory=dict)
    clone_overlap: dict[int, list[Extent]] = msgspec.field(default_factory=dict)

    def encode(self) -> bytes:
        return msgspec.msgpack.encode(self)

    @classmethod
    def decode(cls, data: bytes) -> SnapSet:
        return msgspec.msgpack.decode(data, type=cls)

    def copy(self) -> SnapSet:
        return SnapSet(
            self.seq,
            list(self.clones),
            {c: list(s) for c, s in self.clone_snaps.items()},
            dict(self.clone_size),
            {c: list(o) for c, o in self.clone_overlap.items()},
        )


@dataclass(frozen=True)
class Clone:
    """A clone a write must make of the head first: its id and the snaps it stands
    for, newest first."""

    clone_id: int
    snaps: tuple[int, ...]


def make_writeable(snapset: SnapSet, snapc: SnapContext, head_exists: bool) -> Clone | None:
    """The clone a write under `snapc` must make of the head before changing it, or None."""
    if not head_exists or snapc.seq <= snapset.seq:
        return None
    snaps = tuple(s for s in snapc.snaps if s > snapset.seq)
    if not snaps:
        return None
    return Clone(snapc.seq, snaps)


def after_write(
    snapset: SnapSet,
    snapc: SnapContext,
    clone: Clone | None,
    head_size: int,
    modified: Sequence[Extent],
) -> SnapSet:
    """The SnapSet once a write under `snapc` made `clone` (of a head of `head_size`
    bytes) and then changed the head's `modified` extents."""
    new = snapset.copy()
    if clone is not None:
        new.clones.append(clone.clone_id)
        new.clone_snaps[clone.clone_id] = list(clone.snaps)
        new.clone_size[clone.clone_id] = head_size
        new.clone_overlap[clone.clone_id] = [(0, head_size)] if head_size else []
    if new.clones and modified:
        newest = new.clones[-1]
        new.clone_overlap[newest] = subtract(new.clone_overlap[newest], modified)
    new.seq = max(new.seq, snapc.seq)
    return new


def resolve_read(snapset: SnapSet, snap: int, head_exists: bool) -> int | None:
    """What a read at `snap` sees: NOSNAP for the head, a clone id, or None (ENOENT)."""
    if snap == NOSNAP or snap > snapset.seq:
        return NOSNAP if head_exists else None
    for clone_id in snapset.clones:
        if clone_id >= snap:
            snaps = snapset.clone_snaps[clone_id]
            return clone_id if snaps and min(snaps) <= snap else None
    return None


def rollback_overlap(snapset: SnapSet, target: int) -> list[Extent]:
    """After the head became a copy of clone `target`: the extents the newest clone
    shares with it (what every clone from `target` to the newest shared with the next)."""
    newest = snapset.clones[-1]
    shared = [(0, snapset.clone_size[target])] if snapset.clone_size[target] else []
    for clone_id in snapset.clones[snapset.clones.index(target) : -1]:
        shared = intersect(shared, snapset.clone_overlap[clone_id])
    return intersect(shared, [(0, snapset.clone_size[newest])])


@dataclass(frozen=True)
class TrimPlan:
    """What removing snaps does to one object: the clones to delete and the SnapSet
    left (None when nothing changes)."""

    delete: tuple[int, ...]
    snapset: SnapSet


def trim(snapset: SnapSet, removed: Iterable[int]) -> TrimPlan | None:
    """Drop `removed` snaps from the clones; delete clones that stand for no snap."""
    gone = set(removed)
    if not any(gone.intersection(snapset.clone_snaps[c]) for c in snapset.clones):
        return None
    new = snapset.copy()
    deleted: list[int] = []
    for clone_id in list(new.clones):
        snaps = [s for s in new.clone_snaps[clone_id] if s not in gone]
        if snaps:
            new.clone_snaps[clone_id] = snaps
            continue
        index = new.clones.index(clone_id)
        if index > 0:
            # The older clone now compares with what came after the deleted one.
            older = new.clones[index - 1]
            new.clone_overlap[older] = intersect(
                new.clone_overlap[older], new.clone_overlap[clone_id]
            )
        new.clones.remove(clone_id)
        del new.clone_snaps[clone_id], new.clone_size[clone_id], new.clone_overlap[clone_id]
        deleted.append(clone_id)
    return TrimPlan(tuple(deleted), new)


# --- extents ---------------------------------------------------------------------------


def _normalise(extents: Iterable[Extent]) -> list[Extent]:
    merged: list[list[int]] = []
    for off, length in sorted(e for e in extents if e[1] > 0):
        if merged and off <= merged[-1][0] + merged[-1][1]:
            end = max(merged[-1][0] + merged[-1][1], off + length)
            merged[-1][1] = end - merged[-1][0]
        else:
            merged.append([off, length])
    return [(o, n) for o, n in merged]


def subtract(extents: Sequence[Extent], cut: Iterable[Extent]) -> list[Extent]:
    """`extents` less every byte in `cut` (both as (offset, length) lists)."""
    result = _normalise(extents)
    for c_off, c_len in _normalise(cut):
        c_end = c_off + c_len
        pieces: list[Extent] = []
        for off, length in result:
            end = off + length
            if end <= c_off or off >= c_end:
                pieces.append((off, length))
                continue
            if off < c_off:
                pieces.append((off, c_off - off))
            if end > c_end:
                pieces.append((c_end, end - c_end))
        result = pieces
    return result


def intersect(a: Sequence[Extent], b: Sequence[Extent]) -> list[Extent]:
    """The bytes in both `a` and `b`."""
    out: list[Extent] = []
    for a_off, a_len in _normalise(a):
        for b_off, b_len in _normalise(b):
            lo, hi = max(a_off, b_off), min(a_off + a_len, b_off + b_len)
            if lo < hi:
                out.append((lo, hi - lo))
    return _normalise(out)


def truncated(size: int) -> Extent:
    """The extent a truncate to `size` modifies: everything from `size` on."""
    return (size, _END - size)
