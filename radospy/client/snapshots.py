"""Snapshots as an I/O context sees them (librados' snap API, rados.pyx names).

Pool snapshots are named and made by the monitors (`osd pool mksnap`); every write to
the pool is then cloned on write by the OSDs under the pool's own snap context.
Self-managed snapshots are bare ids the monitors hand out; the client says which of
them a write must preserve (`set_self_managed_snap_write`). A pool uses one kind or
the other. Reads go to the head, or to a snapshot after `set_read(snap_id)`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from errno import EINVAL, ENOENT
from typing import Any

from radospy.common.errors import RadosError
from radospy.mon.state import PoolExtras
from radospy.osd.objectstore.types import NOSNAP

LIBRADOS_SNAP_HEAD = NOSNAP
"""`set_read(LIBRADOS_SNAP_HEAD)` reads the head again (Ceph's value)."""
LIBRADOS_SNAP_DIR = 2**64 - 1
"""The snap id that addresses an object's clone list (`rados listsnaps`)."""


@dataclass
class SnapState:
    """What an I/O context reads at and the context its writes carry."""

    read: int = NOSNAP
    seq: int = 0
    snaps: list[int] = field(default_factory=list)


def write_context(snaps: Sequence[int]) -> tuple[int, list[int]]:
    """rados.pyx's `set_self_managed_snap_write`: (seq, ids newest first) from every
    self-managed snap id an object's writes must preserve."""
    ids = sorted({int(s) for s in snaps}, reverse=True)
    if any(s <= 0 or s >= NOSNAP for s in ids):
        raise RadosError(f"invalid snap ids {list(snaps)}", EINVAL)
    return (ids[0] if ids else 0), ids


def pool_snaps(extras: PoolExtras | None) -> list[tuple[int, str, float]]:
    """A pool's snapshots, oldest first: (id, name, creation time)."""
    if extras is None:
        return []
    return [(sid, s.name, s.stamp) for sid, s in sorted(extras.snaps.items())]


def find_snap(extras: PoolExtras | None, name: str) -> tuple[int, float]:
    """(id, creation time) of pool snapshot `name`; ENOENT when there is none."""
    for sid, snap_name, stamp in pool_snaps(extras):
        if snap_name == name:
            return sid, stamp
    raise RadosError(f"snap {name} not found", ENOENT)


class Snap:
    """A pool snapshot (rados.pyx's `Snap`): `ioctx`, `name`, `snap_id`."""

    def __init__(self, ioctx: Any, name: str, snap_id: int, stamp: float) -> None:
        self.ioctx = ioctx
        self.name = name
        self.snap_id = snap_id
        self._stamp = stamp

    def __str__(self) -> str:
        return f"rados.Snap(ioctx={self.ioctx!s},name={self.name},snap_id={self.snap_id})"

    def get_timestamp(self) -> datetime:
        """When the snapshot was made (local time, as rados.pyx returns it)."""
        return datetime.fromtimestamp(self._stamp)


class SnapIterator:
    """Iterates over a pool's snapshots (rados.pyx's `SnapIterator`)."""

    def __init__(self, snaps: list[Snap]) -> None:
        self._snaps = iter(snaps)

    def __iter__(self) -> Iterator[Snap]:
        return self

    def __next__(self) -> Snap:
        return next(self._snaps)
