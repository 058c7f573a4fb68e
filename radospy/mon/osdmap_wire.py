"""The OSDMap as the monitors store and send it: full maps, updates (an incremental plus
the pools' snapshot records), and `OSDMapFollower`, a subscriber's side of them.

A full map is msgpack of `OSDMap.to_dict()` with the CRUSH map in Ceph's binary encoding
and the pools' `PoolExtras`. An update takes epoch N-1 to N: `OSDMapUpdate`, an
`Incremental` and, when any pool's extras changed, all of them.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Any

import msgpack
import msgspec

from radospy.common.errors import InvalidArgument
from radospy.crush import codec
from radospy.crush.dump import to_dump
from radospy.crush.map import CrushMap
from radospy.osdmap import incremental
from radospy.osdmap.incremental import Incremental, IncrementalError
from radospy.osdmap.osdmap import OSDMap

log = logging.getLogger("radospy.osdmap")

_EMPTY_CRUSH_DUMP = to_dump(CrushMap())


@dataclass
class PoolSnap:
    """A pool snapshot (`pool_snap_info_t`)."""

    name: str
    stamp: float


@dataclass
class PoolExtras:
    """What Ceph's `pg_pool_t` keeps that our `Pool` model does not: creation time and
    snapshots. `snap_seq` only grows: creating a snapshot (pool or self-managed) takes
    the next id, removing one bumps it too. `removed_snaps` (ascending) are the ids the
    OSDs trim clones of."""

    create_time: float = 0.0
    snap_seq: int = 0
    snap_epoch: int = 0
    snaps: dict[int, PoolSnap] = field(default_factory=dict)
    removed_snaps: list[int] = field(default_factory=list)

    def copy(self) -> PoolExtras:
        """An independent copy (the snapshot records are never changed in place)."""
        return PoolExtras(
            self.create_time, self.snap_seq, self.snap_epoch, dict(self.snaps),
            list(self.removed_snaps),
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {
            "create_time": self.create_time,
            "snap_seq": self.snap_seq,
            "snap_epoch": self.snap_epoch,
            "snaps": {sid: [s.name, s.stamp] for sid, s in self.snaps.items()},
            "removed_snaps": list(self.removed_snaps),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PoolExtras:
        return cls(
            create_time=float(d["create_time"]),
            snap_seq=int(d["snap_seq"]),
            snap_epoch=int(d["snap_epoch"]),
            snaps={int(sid): PoolSnap(str(n), float(t)) for sid, (n, t) in d["snaps"].items()},
            removed_snaps=[int(s) for s in d.get("removed_snaps", [])],
        )


def encode_osdmap(osdmap: OSDMap, extras: dict[int, PoolExtras]) -> bytes:
    """A full map as subscribers get it: msgpack of `OSDMap.to_dict()` with the CRUSH
    map in Ceph's binary encoding (exact, class and shadow ids included) and the pools'
    snapshots under `pool_extras`."""
    d = osdmap.to_dict()
    d["crush"] = codec.encode(osdmap.crush)
    d["pool_extras"] = {pid: e.to_dict() for pid, e in sorted(extras.items())}
    return bytes(msgpack.packb(d, use_bin_type=True))


def decode_osdmap(data: bytes) -> tuple[OSDMap, dict[int, PoolExtras]]:
    """Read what `encode_osdmap` wrote (raises InvalidArgument-like errors on garbage)."""
    d = msgpack.unpackb(data, raw=False, strict_map_key=False)
    crush = codec.decode(d["crush"])
    d["crush"] = _EMPTY_CRUSH_DUMP
    osdmap = OSDMap.from_dict(d)
    osdmap.crush = crush
    extras = {int(pid): PoolExtras.from_dict(e) for pid, e in d["pool_extras"].items()}
    return osdmap, extras


class OSDMapUpdate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What makes epoch `inc.epoch` from the one before."""

    inc: Incremental
    pool_extras: dict[int, dict[str, Any]] | None = None
    """Every pool's `PoolExtras.to_dict()`, when any of them changed."""


_update_decoder = msgspec.msgpack.Decoder(OSDMapUpdate)


def extras_dicts(extras: dict[int, PoolExtras]) -> dict[int, dict[str, Any]]:
    """The pools' extras as an update carries them."""
    return {pid: e.to_dict() for pid, e in sorted(extras.items())}


def encode_update(update: OSDMapUpdate) -> bytes:
    """The store and wire form of an update."""
    return msgspec.msgpack.encode(update)


def decode_update(data: bytes) -> OSDMapUpdate:
    """Read what `encode_update` wrote; IncrementalError on anything else."""
    try:
        return _update_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise IncrementalError(f"malformed OSDMap update: {exc}") from None


def apply_update(
    osdmap: OSDMap, extras: dict[int, PoolExtras], data: bytes
) -> tuple[OSDMap, dict[int, PoolExtras]]:
    """The map and pool extras the update `data` makes from `osdmap` and `extras`
    (IncrementalError if it does not follow them or is malformed)."""
    update = decode_update(data)
    new = incremental.apply(osdmap, update.inc)
    if update.pool_extras is None:
        return new, extras
    try:
        return new, {int(p): PoolExtras.from_dict(e) for p, e in update.pool_extras.items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise IncrementalError(f"malformed OSDMap update: {exc}") from None


class Take(enum.Enum):
    """What a subscriber's map message did."""

    NEW = "new"
    """The map advanced."""
    STALE = "stale"
    """Nothing newer (an epoch already had, or an incremental while waiting for a full map)."""
    GAP = "gap"
    """An incremental that does not follow the map held: ask for a full map."""


@dataclass
class OSDMapFollower:
    """A subscriber's latest OSDMap, advanced by what the monitors send.

    A client only needs the newest map: after a gap it asks for a full one. An OSD
    needs every epoch in order (each may start a PG interval: Ceph's OSD consumes
    every incremental), so with ``every_epoch`` a gap asks for the missing updates
    (``resubscribe_from``); the monitors send a full map only when they no longer
    keep them.
    """

    osdmap: OSDMap | None = None
    pool_extras: dict[int, PoolExtras] = field(default_factory=dict)
    """The pools' snapshot records as of `osdmap`."""
    waiting_full: bool = False
    every_epoch: bool = False
    asked_from: int = 0
    """With ``every_epoch``: the epoch the missing updates were last asked from."""

    @property
    def epoch(self) -> int:
        return self.osdmap.epoch if self.osdmap is not None else 0

    @property
    def resubscribe_from(self) -> int:
        """The epoch to subscribe from after a GAP (0: the newest full map)."""
        return 0 if self.waiting_full or self.osdmap is None else self.epoch + 1

    def take(self, epoch: int, data: bytes, full: bool) -> Take:
        """One map message: a full map of `epoch`, or the update that makes `epoch`.

        GAP is answered once per gap (then subscribe again from `resubscribe_from`);
        incrementals are ignored until a full map comes when one was asked for. A
        malformed message counts as a gap that needs a full map.
        """
        if epoch <= self.epoch:
            return Take.STALE
        try:
            if full:
                self.osdmap, self.pool_extras = decode_osdmap(data)
                self.waiting_full = False
                return Take.NEW
            if self.waiting_full:
                return Take.STALE
            if self.osdmap is not None and epoch == self.epoch + 1:
                self.osdmap, self.pool_extras = apply_update(self.osdmap, self.pool_extras, data)
                return Take.NEW
            if self.every_epoch and self.osdmap is not None:
                if self.asked_from == self.epoch + 1:
                    return Take.STALE
                self.asked_from = self.epoch + 1
                return Take.GAP
        except (InvalidArgument, ValueError, KeyError, TypeError, msgpack.UnpackException) as exc:
            log.warning("osdmap epoch %d unusable (%s); asking for a full map", epoch, exc)
        self.waiting_full = True
        return Take.GAP
