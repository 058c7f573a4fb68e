"""Scrub and deep scrub, the pure part: scrub maps compared, errors named as Ceph names
them, the authoritative copy chosen, and the schedule.

A scrub compares, chunk by chunk, what every acting OSD holds of a PG. Each OSD
describes its objects in a chunk as a scrub map (`ScrubObject` per object: size,
version, xattrs, and for a deep scrub the digests of the data and of the omap, read
back from the store, whose extent checksums turn a corrupted extent into a
``read_error``). `compare_maps` turns the maps into Ceph's inconsistency records
(``rados list-inconsistent-obj``), with Ceph's error names:

- per shard (``union_shard_errors``, ``shards[].errors``): ``missing``,
  ``read_error``, ``size_mismatch_info``, ``data_digest_mismatch_info``,
  ``omap_digest_mismatch_info`` (the shard differs from the selected object's info);
- per object (``errors``): ``object_info_inconsistency`` (versions differ),
  ``size_mismatch``, ``data_digest_mismatch``, ``omap_digest_mismatch``,
  ``attr_name_mismatch``, ``attr_value_mismatch``.

The authoritative shard (Ceph's ``select_auth_object``) is one without a read error
that holds the object, the newest version winning and the primary, then acting order,
breaking ties. Repair copies it over every shard that differs from it.

A shallow scrub compares sizes, versions and xattrs; only a deep scrub reads data and
omap, so only a deep scrub finds a corrupted extent.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from radospy.common.eversion import Eversion
from radospy.osd.objectstore.types import NOSNAP, ObjectId
from radospy.osd.snaps import SNAPDIR

DIGEST_SEED = 0xFFFFFFFF
"""Digests start from -1 as Ceph's crc32c ones do (an empty object digests to
``0xffffffff``)."""

OSD_SCRUB_MIN_INTERVAL = 86400.0
OSD_SCRUB_MAX_INTERVAL = 7 * 86400.0
OSD_DEEP_SCRUB_INTERVAL = 7 * 86400.0
OSD_SCRUB_INTERVAL_RANDOMIZE_RATIO = 0.5
OSD_SCRUB_CHUNK_MIN = 5
OSD_SCRUB_CHUNK_MAX = 25
OSD_MAX_SCRUBS = 1

SHALLOW_SHARD_ERRORS = ("missing", "size_mismatch_info")
DEEP_SHARD_ERRORS = ("read_error", "data_digest_mismatch_info", "omap_digest_mismatch_info")
SHALLOW_OBJECT_ERRORS = (
    "object_info_inconsistency", "size_mismatch", "attr_name_mismatch", "attr_value_mismatch",
)  # fmt: skip
DEEP_OBJECT_ERRORS = ("data_digest_mismatch", "omap_digest_mismatch")


def digest(data: bytes | memoryview, seed: int = DIGEST_SEED) -> int:
    """A running 32-bit digest (CRC-32), continued from ``seed``."""
    return zlib.crc32(data, seed) & 0xFFFFFFFF


def omap_digest(header: bytes, pairs: Iterable[tuple[str, bytes]]) -> int:
    """The digest of an object's omap: header, then each key and value in key order,
    each length-prefixed so that moving bytes between key and value changes it."""
    value = digest(header)
    for key, val in pairs:
        raw = key.encode()
        value = digest(len(raw).to_bytes(4, "little") + raw, value)
        value = digest(len(val).to_bytes(4, "little") + val, value)
    return value


class ScrubObject(msgspec.Struct, frozen=True, array_like=True):
    """What one OSD holds of one object, as a scrub sees it.

    ``data_digest``/``omap_digest`` are set by a deep scrub only; ``read_error`` when
    the store could not read the object back (an extent failed its checksum)."""

    oid: ObjectId
    size: int
    version: Eversion
    attrs: dict[str, bytes]
    data_digest: int | None = None
    omap_digest: int | None = None
    read_error: bool = False


class ScrubKind(enum.Enum):
    SHALLOW = "scrub"
    DEEP = "deep-scrub"
    REPAIR = "repair"

    @property
    def deep(self) -> bool:
        return self is not ScrubKind.SHALLOW


@dataclass(frozen=True)
class ShardResult:
    """One OSD's copy of an inconsistent object, as ``shards[]`` shows it."""

    osd: int
    primary: bool
    errors: tuple[str, ...]
    obj: ScrubObject | None
    """None: the shard does not hold the object."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"osd": self.osd, "primary": self.primary,
                               "errors": list(self.errors)}  # fmt: skip
        obj = self.obj
        if obj is None:
            return out
        out["size"] = obj.size
        if obj.omap_digest is not None:
            out["omap_digest"] = f"0x{obj.omap_digest:08x}"
        if obj.data_digest is not None:
            out["data_digest"] = f"0x{obj.data_digest:08x}"
        return out


@dataclass(frozen=True)
class Inconsistency:
    """One object whose copies disagree (an entry of ``inconsistents``)."""

    oid: ObjectId
    errors: tuple[str, ...]
    shards: tuple[ShardResult, ...]
    auth: int | None
    """The OSD whose copy is authoritative; None when no copy is usable."""
    bad: tuple[int, ...]
    """The OSDs whose copy differs from the authoritative one (what repair rewrites)."""

    @property
    def union_shard_errors(self) -> tuple[str, ...]:
        found = {e for s in self.shards for e in s.errors}
        return tuple(e for e in (*SHALLOW_SHARD_ERRORS, *DEEP_SHARD_ERRORS) if e in found)

    @property
    def deep(self) -> bool:
        """Whether only a deep scrub could find it (counted as a deep error)."""
        shallow = set(SHALLOW_OBJECT_ERRORS) | set(SHALLOW_SHARD_ERRORS)
        return not (set(self.errors) | set(self.union_shard_errors)) & shallow

    def auth_object(self) -> ScrubObject | None:
        for shard in self.shards:
            if shard.osd == self.auth:
                return shard.obj
        return None

    def to_json(self, pool: int, locator: str = "") -> dict[str, Any]:
        """The entry as ``rados list-inconsistent-obj --format json`` prints it."""
        auth = self.auth_object()
        version = auth.version.version if auth is not None else 0
        return {
            "object": {
                "name": self.oid.name,
                "nspace": self.oid.nspace,
                "locator": locator,
                "snap": snap_json(self.oid.snap),
                "version": version,
            },
            "errors": list(self.errors),
            "union_shard_errors": list(self.union_shard_errors),
            "selected_object_info": object_info_json(pool, self.oid, auth) if auth else {},
            "shards": [s.to_json() for s in self.shards],
        }


def snap_json(snap: int) -> str | int:
    """A snap id as Ceph's JSON shows it: ``head``, ``snapdir`` or the number."""
    if snap == NOSNAP:
        return "head"
    if snap == SNAPDIR:
        return "snapdir"
    return snap


def object_info_json(pool: int, oid: ObjectId, obj: ScrubObject) -> dict[str, Any]:
    """``selected_object_info`` (the parts of ``object_info_t`` radospy keeps)."""
    info: dict[str, Any] = {
        "oid": {
            "oid": oid.name,
            "key": "",
            "snapid": -2 if oid.snap == NOSNAP else snap_json(oid.snap),
            "pool": pool,
            "namespace": oid.nspace,
        },
        "version": str(obj.version),
        "user_version": obj.version.version,
        "size": obj.size,
    }
    if obj.data_digest is not None:
        info["data_digest"] = f"0x{obj.data_digest:08x}"
    if obj.omap_digest is not None:
        info["omap_digest"] = f"0x{obj.omap_digest:08x}"
    return info


def select_auth(
    copies: Mapping[int, ScrubObject], acting: Sequence[int], primary: int
) -> int | None:
    """The OSD whose copy is authoritative: readable, newest version; the primary and
    then acting order break ties. None when no copy is readable."""
    order = [primary, *(o for o in acting if o != primary)]
    usable = [o for o in order if o in copies and not copies[o].read_error]
    if not usable:
        return None
    newest = max(copies[o].version for o in usable)
    return next(o for o in usable if copies[o].version == newest)


def compare_object(
    oid: ObjectId,
    copies: Mapping[int, ScrubObject],
    acting: Sequence[int],
    primary: int,
    deep: bool,
) -> Inconsistency | None:
    """The inconsistency of one object across the acting set, or None if consistent.

    ``copies`` has an entry for each OSD that holds the object."""
    auth = select_auth(copies, acting, primary)
    ref = copies[auth] if auth is not None else None
    errors: set[str] = set()
    shards: list[ShardResult] = []
    bad: list[int] = []
    for osd in acting:
        obj = copies.get(osd)
        shard_errors: list[str] = []
        if obj is None:
            shard_errors.append("missing")
        elif obj.read_error:
            shard_errors.append("read_error")
        elif ref is not None and osd != auth:
            shard_errors += _shard_vs_auth(obj, ref, deep, errors)
        if shard_errors or (ref is not None and obj is not None and _differs(obj, ref, deep)):
            bad.append(osd)
        shards.append(ShardResult(osd, osd == primary, tuple(shard_errors), obj))
    if not bad and not errors:
        return None
    ordered = tuple(e for e in (*SHALLOW_OBJECT_ERRORS, *DEEP_OBJECT_ERRORS) if e in errors)
    return Inconsistency(oid, ordered, tuple(shards), auth, tuple(bad))


def _shard_vs_auth(obj: ScrubObject, ref: ScrubObject, deep: bool, errors: set[str]) -> list[str]:
    """A readable non-authoritative shard's errors; object errors go into ``errors``."""
    found: list[str] = []
    if obj.version != ref.version:
        errors.add("object_info_inconsistency")
    if obj.size != ref.size:
        errors.add("size_mismatch")
        found.append("size_mismatch_info")
    if set(obj.attrs) != set(ref.attrs):
        errors.add("attr_name_mismatch")
    if any(obj.attrs[k] != v for k, v in ref.attrs.items() if k in obj.attrs):
        errors.add("attr_value_mismatch")
    if deep and obj.data_digest != ref.data_digest:
        errors.add("data_digest_mismatch")
        found.append("data_digest_mismatch_info")
    if deep and obj.omap_digest != ref.omap_digest:
        errors.add("omap_digest_mismatch")
        found.append("omap_digest_mismatch_info")
    return found


def _differs(obj: ScrubObject, ref: ScrubObject, deep: bool) -> bool:
    if (obj.version, obj.size, obj.attrs) != (ref.version, ref.size, ref.attrs):
        return True
    return deep and (obj.data_digest, obj.omap_digest) != (ref.data_digest, ref.omap_digest)


def compare_maps(
    maps: Mapping[int, Sequence[ScrubObject]], acting: Sequence[int], primary: int, deep: bool
) -> list[Inconsistency]:
    """Every inconsistent object of a chunk, in object order, given each acting OSD's
    scrub map of that chunk (an OSD without a map is left out of the comparison)."""
    members = [o for o in acting if o in maps]
    by_oid: dict[ObjectId, dict[int, ScrubObject]] = {}
    for osd in members:
        for obj in maps[osd]:
            by_oid.setdefault(obj.oid, {})[osd] = obj
    found = []
    for oid in sorted(by_oid):
        result = compare_object(oid, by_oid[oid], members, primary, deep)
        if result is not None:
            found.append(result)
    return found


# --- what a PG remembers of its scrubs -----------------------------------------------------


class ScrubRecord(msgspec.Struct, frozen=True):
    """A PG's scrub history as its primary keeps it (``pg_history_t``'s scrub stamps and
    the scrub store's findings): stamps are seconds since the epoch, versions the PG's
    ``last_update`` when the scrub began."""

    last_scrub: Eversion = Eversion()
    last_scrub_stamp: float = 0.0
    last_deep_scrub: Eversion = Eversion()
    last_deep_scrub_stamp: float = 0.0
    num_scrub_errors: int = 0
    scrub_epoch: int = 0
    inconsistents: list[dict[str, Any]] = msgspec.field(default_factory=list)
    """The ``inconsistents`` entries of the last scrub, as listed."""


def scrub_errors(found: Iterable[Inconsistency]) -> int:
    """How many scrub errors a scrub counts: one per inconsistent object."""
    return sum(1 for _ in found)


# --- the schedule ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScrubSchedule:
    """The OSD's scrub options (Ceph's names, seconds)."""

    min_interval: float = OSD_SCRUB_MIN_INTERVAL
    max_interval: float = OSD_SCRUB_MAX_INTERVAL
    deep_interval: float = OSD_DEEP_SCRUB_INTERVAL
    randomize_ratio: float = OSD_SCRUB_INTERVAL_RANDOMIZE_RATIO
    chunk_min: int = OSD_SCRUB_CHUNK_MIN
    chunk_max: int = OSD_SCRUB_CHUNK_MAX
    max_scrubs: int = OSD_MAX_SCRUBS
    sleep: float = 0.0
    """``osd_scrub_sleep``: seconds between chunks."""


@dataclass(frozen=True)
class Due:
    """When a PG's next periodic scrub is due (Ceph's ``sched_time`` and ``deadline``)."""

    scheduled: float
    deadline: float


def scrub_due(last_stamp: float, sched: ScrubSchedule, rand: Callable[[], float]) -> Due:
    """The next periodic scrub: ``min_interval`` after the last, stretched by up to
    ``randomize_ratio`` (so PGs created together spread out), and never later than
    ``max_interval``."""
    scheduled = last_stamp + sched.min_interval * (1.0 + rand() * sched.randomize_ratio)
    deadline = last_stamp + sched.max_interval
    return Due(min(scheduled, deadline), deadline)


@dataclass(frozen=True)
class Flags:
    """The ``noscrub``/``nodeep-scrub`` flags in force for a PG (cluster or pool)."""

    noscrub: bool = False
    nodeep_scrub: bool = False


def periodic_kind(
    record: ScrubRecord, due: Due, sched: ScrubSchedule, flags: Flags, now: float
) -> ScrubKind | None:
    """Whether a PG's periodic scrub should run now, and which (Ceph's behaviour table:
    a deep scrub that is due runs despite ``noscrub``; ``nodeep-scrub`` turns it into a
    regular scrub unless ``noscrub`` is set too)."""
    deep_due = now >= record.last_deep_scrub_stamp + sched.deep_interval
    if deep_due and not flags.nodeep_scrub:
        return ScrubKind.DEEP
    if flags.noscrub:
        return None
    if deep_due or now >= due.scheduled:
        return ScrubKind.SHALLOW
    return None


def requested_kind(requested: ScrubKind, record: ScrubRecord, sched: ScrubSchedule,
                   flags: Flags, now: float) -> ScrubKind:  # fmt: skip
    """An operator's request runs whatever the flags; a plain scrub requested after
    ``osd_deep_scrub_interval`` becomes deep unless ``nodeep-scrub`` is set."""
    deep_due = now >= record.last_deep_scrub_stamp + sched.deep_interval
    if requested is ScrubKind.SHALLOW and deep_due and not flags.nodeep_scrub:
        return ScrubKind.DEEP
    return requested


@dataclass
class Chunk:
    """One chunk of a PG: objects after ``start`` (None: from the first) up to and
    including ``end`` (None: to the last)."""

    start: ObjectId | None
    end: ObjectId | None
    objects: list[ObjectId] = field(default_factory=list)

    def covers(self, oid: ObjectId) -> bool:
        """Whether the chunk's range meets ``oid``'s family (its head, clones and
        snapdir sort together): a write that clones the head waits as well."""
        lowest = ObjectId(oid.name, oid.nspace, 0)
        highest = ObjectId(oid.name, oid.nspace, SNAPDIR)
        return (self.start is None or highest > self.start) and (
            self.end is None or lowest <= self.end
        )


def next_chunk(listed: Sequence[ObjectId], start: ObjectId | None, chunk_max: int) -> Chunk:
    """The chunk after ``start``, given up to ``chunk_max`` objects the primary lists
    after it: the last chunk (to the end) when fewer came back."""
    if len(listed) < chunk_max:
        return Chunk(start, None, list(listed))
    return Chunk(start, listed[-1], list(listed))
