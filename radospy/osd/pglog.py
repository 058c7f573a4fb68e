"""The PG log: the ordered record of recent changes to a PG, as Ceph's `PGLog` keeps it.

Every change the primary orders in a PG gets an eversion (`epoch'version`) and one
`LogEntry`; replicas append the same entries. The log serves three purposes:

* **de-duplication** — an op resent after a reconnect carries the same `ReqId`;
  `PgLog.lookup_reqid` finds the entry (or, once trimmed, the `LogDup` kept for it) so
  the op is answered with its first result instead of being applied twice;
* **log-based recovery** — comparing an OSD's log with the authoritative one tells
  exactly which objects changed since it was last in step (`PgMissing`), and which of
  its own entries never committed elsewhere and must be thrown out (*divergent*);
* **bounding history** — `calc_trim_to` / `PgLog.trim` keep the log short; an OSD
  whose last update is older than the authoritative log's tail cannot be caught up from
  the log and needs backfill (`needs_backfill`).

Merging follows `PGLog::merge_log`, `PGLog::proc_replica_log` and
`PGLog::_merge_object_divergent_entries` (Ceph's src/osd/PGLog.{h,cc}) for replicated
pools, where a divergent change cannot be rolled back locally: the object is removed
and recovered from the authoritative copy instead (Ceph's cases 1, 2, 3 and 5).

Everything here is pure: the merge functions mutate only the `PgLog` / `PgMissing`
objects they are given and return the new `PgInfo` plus the objects the caller must
delete from its store.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, TypeVar

import msgspec

from radospy.common.errors import RadosError
from radospy.common.eversion import Eversion
from radospy.common.types import ReqId
from radospy.osd.objectstore.types import ObjectId
from radospy.osdmap.pg import PgId

ZERO = Eversion(0, 0)

# Ceph's defaults (src/common/options/osd.yaml.in).
OSD_MIN_PG_LOG_ENTRIES = 250
OSD_MAX_PG_LOG_ENTRIES = 10000
OSD_TARGET_PG_LOG_ENTRIES_PER_OSD = 300000
OSD_PG_LOG_DUPS_TRACKED = 3000
OSD_PG_LOG_TRIM_MIN = 100
OSD_PG_LOG_TRIM_MAX = 10000

_U32 = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
# msgpack ints stop at 2**64 - 1 and msgspec cannot state a bound that wide.
_U64 = Annotated[int, msgspec.Meta(ge=0)]
_T = TypeVar("_T")


class PgLogError(RadosError):
    """A PG log, info or missing set that is malformed or would break its invariants."""


class LogOp(IntEnum):
    """`pg_log_entry_t` op codes (same numbers as Ceph)."""

    MODIFY = 1
    CLONE = 2
    DELETE = 3
    LOST_REVERT = 5
    LOST_DELETE = 6
    ERROR = 10

    def __str__(self) -> str:
        return _OP_NAMES[self]


_OP_NAMES = {
    LogOp.MODIFY: "modify",
    LogOp.CLONE: "clone",
    LogOp.DELETE: "delete",
    LogOp.LOST_REVERT: "l_revert",
    LogOp.LOST_DELETE: "l_delete",
    LogOp.ERROR: "error",
}
_UPDATES = frozenset({LogOp.MODIFY, LogOp.CLONE, LogOp.LOST_REVERT})
_DELETES = frozenset({LogOp.DELETE, LogOp.LOST_DELETE})
_REQID_INDEXED = frozenset({LogOp.MODIFY, LogOp.DELETE, LogOp.ERROR})


class LogEntry(msgspec.Struct, frozen=True, array_like=True):
    """`pg_log_entry_t`: one change to one object of a PG.

    `prior_version` is the object's version before this change, `0'0` when the object
    did not exist (a create, or a re-create after a delete) — merging relies on it to
    tell a creation from an update. An `ERROR` entry records a write op that failed
    (`return_code` < 0) so that a resend gets the same error; it changes no object.
    """

    op: LogOp
    oid: ObjectId
    version: Eversion
    prior_version: Eversion = ZERO
    reqid: ReqId | None = None
    mtime_ns: int = 0
    user_version: _U64 = 0
    return_code: int = 0

    def __post_init__(self) -> None:
        if self.prior_version >= self.version:
            raise ValueError(
                f"prior_version {self.prior_version} not before version {self.version}"
            )

    @property
    def is_update(self) -> bool:
        """Whether the object exists after this change."""
        return self.op in _UPDATES

    @property
    def is_delete(self) -> bool:
        return self.op in _DELETES

    @property
    def is_error(self) -> bool:
        return self.op is LogOp.ERROR

    @property
    def is_clone(self) -> bool:
        return self.op is LogOp.CLONE

    @property
    def reqid_is_indexed(self) -> bool:
        """Whether a resend of this entry's client op must be recognised."""
        return self.reqid is not None and self.op in _REQID_INDEXED

    def __str__(self) -> str:
        who = f" by {self.reqid}" if self.reqid is not None else ""
        return (
            f"{self.version} ({self.prior_version}) {self.op} {self.oid}{who} "
            f"{self.mtime_ns} {self.return_code}"
        )

    def encode(self) -> bytes:
        """msgpack bytes, the value of this entry's row in the object store."""
        return _ENCODER.encode(self)

    @classmethod
    def decode(cls, data: bytes) -> LogEntry:
        """Decode `encode`'s bytes; raises `PgLogError` on anything malformed."""
        return _decode(_ENTRY_DECODER, data, "pg log entry")


class LogDup(msgspec.Struct, frozen=True, array_like=True):
    """`pg_log_dup_t`: what is kept of a trimmed entry to answer a resent op."""

    reqid: ReqId
    version: Eversion
    user_version: _U64
    return_code: int

    @classmethod
    def of(cls, entry: LogEntry) -> LogDup:
        if entry.reqid is None:
            raise PgLogError(f"log entry {entry.version} has no reqid")
        return cls(entry.reqid, entry.version, entry.user_version, entry.return_code)

    def __str__(self) -> str:
        return (
            f"log_dup(reqid={self.reqid} v={self.version} uv={self.user_version} "
            f"rc={self.return_code})"
        )


class MissingItem(msgspec.Struct, frozen=True, array_like=True):
    """The version an object must reach (`need`) and the one stored locally (`have`,
    `0'0` when there is no usable local copy)."""

    need: Eversion
    have: Eversion = ZERO


class PgHistory(msgspec.Struct, frozen=True, array_like=True):
    """`pg_history_t`: the epochs peering reasons about.

    `same_up_since`, `same_interval_since` and `same_primary_since` are the epochs the
    up set, the interval and the acting primary last changed in, as this OSD's maps
    say (`radospy.osd.peering.enter_interval`). `last_interval_started` and
    `last_interval_clean` are the first epochs of the intervals that
    `last_epoch_started` and `last_epoch_clean` fall in. The last two fields came
    later: an info stored without them decodes with 0 (msgspec fills trailing
    defaults).
    """

    epoch_created: _U32 = 0
    last_epoch_started: _U32 = 0
    last_epoch_clean: _U32 = 0
    same_up_since: _U32 = 0
    same_interval_since: _U32 = 0
    same_primary_since: _U32 = 0
    last_interval_started: _U32 = 0
    last_interval_clean: _U32 = 0

    def merge(self, other: PgHistory) -> PgHistory:
        """Take the newer of the fields that a map cannot recompute (`merge`); the
        `same_*_since` epochs stay this copy's own."""
        return msgspec.structs.replace(
            self,
            epoch_created=max(self.epoch_created, other.epoch_created),
            last_epoch_started=max(self.last_epoch_started, other.last_epoch_started),
            last_epoch_clean=max(self.last_epoch_clean, other.last_epoch_clean),
            last_interval_started=max(self.last_interval_started, other.last_interval_started),
            last_interval_clean=max(self.last_interval_clean, other.last_interval_clean),
        )


class PgInfo(msgspec.Struct, frozen=True, array_like=True):
    """`pg_info_t`: an OSD's summary of its copy of a PG.

    Everything up to `last_complete` is present locally; `(last_complete, last_update]`
    may have objects in the missing set. `log_tail` is the log's tail. `last_backfill`
    is the last object (in `ObjectId` order) a backfill has copied, `None` when the copy
    is complete: objects after it are neither stored nor tracked as missing.
    """

    pgid: PgId
    last_update: Eversion = ZERO
    last_complete: Eversion = ZERO
    log_tail: Eversion = ZERO
    last_user_version: _U64 = 0
    last_backfill: ObjectId | None = None
    last_epoch_started: _U32 = 0
    history: PgHistory = PgHistory()

    @property
    def is_empty(self) -> bool:
        return self.last_update == ZERO

    @property
    def is_incomplete(self) -> bool:
        """Whether a backfill into this copy has not finished."""
        return self.last_backfill is not None

    @property
    def has_missing(self) -> bool:
        return self.last_complete != self.last_update

    def covers(self, oid: ObjectId) -> bool:
        """Whether `oid` is within what backfill has copied here."""
        return self.last_backfill is None or oid <= self.last_backfill

    def encode(self) -> bytes:
        return _ENCODER.encode(self)

    @classmethod
    def decode(cls, data: bytes) -> PgInfo:
        """Decode `encode`'s bytes; raises `PgLogError` on anything malformed."""
        return _decode(_INFO_DECODER, data, "pg info")


class PgMissing:
    """`pg_missing_t`: the objects whose local copy is older than the log says."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[ObjectId, MissingItem] | None = None) -> None:
        self._items: dict[ObjectId, MissingItem] = dict(items or {})

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, oid: object) -> bool:
        return oid in self._items

    def __iter__(self) -> Iterator[ObjectId]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PgMissing) and self._items == other._items

    def __repr__(self) -> str:
        items = ", ".join(f"{oid}: need {i.need} have {i.have}" for oid, i in self.by_need())
        return f"PgMissing({{{items}}})"

    def copy(self) -> PgMissing:
        return PgMissing(self._items)

    def get(self, oid: ObjectId) -> MissingItem | None:
        return self._items.get(oid)

    def items(self) -> dict[ObjectId, MissingItem]:
        """A snapshot of the missing objects and their versions."""
        return dict(self._items)

    def by_need(self) -> list[tuple[ObjectId, MissingItem]]:
        """Missing objects, oldest `need` first: the order recovery works in."""
        return sorted(self._items.items(), key=lambda kv: kv[1].need)

    def first_need(self) -> Eversion | None:
        """The oldest version still needed, `None` when nothing is missing."""
        return min((i.need for i in self._items.values()), default=None)

    def add(self, oid: ObjectId, need: Eversion, have: Eversion = ZERO) -> None:
        self._items[oid] = MissingItem(need, have)

    def rm(self, oid: ObjectId) -> None:
        self._items.pop(oid, None)

    def revise_need(self, oid: ObjectId, need: Eversion) -> None:
        """Change what is needed, keeping what is stored."""
        current = self._items.get(oid)
        self._items[oid] = MissingItem(need, current.have if current else ZERO)

    def revise_have(self, oid: ObjectId, have: Eversion) -> None:
        """Change what is stored of an object already missing (no-op otherwise)."""
        current = self._items.get(oid)
        if current is not None:
            self._items[oid] = MissingItem(current.need, have)

    def got(self, oid: ObjectId, version: Eversion) -> None:
        """Record that `oid` was recovered at `version`."""
        current = self._items.get(oid)
        if current is None or version < current.need:
            raise PgLogError(f"recovered {oid} at {version}, which is not what is missing")
        del self._items[oid]

    def add_next_event(self, entry: LogEntry) -> None:
        """Account for a log entry this OSD has logged but not applied to its store.

        An update makes the object missing at the entry's version (keeping what is
        stored locally, or nothing for a creation); a delete takes the object off the
        missing set, since the caller removes it; an error entry changes nothing.
        """
        if entry.is_error:
            return
        if entry.is_delete:
            self.rm(entry.oid)
            return
        current = self._items.get(entry.oid)
        if entry.prior_version == ZERO or entry.is_clone:
            have = ZERO
        elif current is not None:
            have = current.have
        else:
            have = entry.prior_version
        self._items[entry.oid] = MissingItem(entry.version, have)

    def encode(self) -> bytes:
        return _ENCODER.encode(_WireMissing(list(self._items.items())))

    @classmethod
    def decode(cls, data: bytes) -> PgMissing:
        """Decode `encode`'s bytes; raises `PgLogError` on anything malformed."""
        wire = _decode(_MISSING_DECODER, data, "pg missing set")
        return cls(dict(wire.items))


@dataclass(frozen=True)
class TrimResult:
    """What a trim changed, for the caller to persist."""

    trimmed: tuple[LogEntry, ...]
    new_dups: tuple[LogDup, ...]
    dropped_dups: tuple[LogDup, ...]


@dataclass(frozen=True)
class MergeResult:
    """Outcome of merging an authoritative log into this OSD's log.

    `remove` lists the objects the caller must delete from its store (they were
    deleted, or their local copy is divergent) before recovering what `missing` says.
    """

    info: PgInfo
    remove: frozenset[ObjectId]
    divergent: tuple[LogEntry, ...]


@dataclass(frozen=True)
class PeerView:
    """The primary's view of a peer after `proc_replica_log`."""

    info: PgInfo
    missing: PgMissing


class PgLog:
    """`PGLog::IndexedLog`: the entries in `(tail, head]`, indexed by object and reqid,
    plus the dups kept for trimmed entries.

    Versions strictly increase along the log, and so do their `version` counters
    (a new epoch does not restart the counter).
    """

    __slots__ = ("_dup_index", "_dups", "_entries", "_objects", "_reqids", "head", "tail")

    def __init__(
        self,
        tail: Eversion = ZERO,
        head: Eversion | None = None,
        entries: Iterable[LogEntry] = (),
        dups: Iterable[LogDup] = (),
    ) -> None:
        self.tail = tail
        self.head = tail
        self._entries: list[LogEntry] = []
        self._objects: dict[ObjectId, LogEntry] = {}
        self._reqids: dict[ReqId, LogEntry] = {}
        self._dups: list[LogDup] = []
        self._dup_index: dict[ReqId, LogDup] = {}
        for entry in entries:
            self.append(entry)
        if head is not None:
            if head < self.head:
                raise PgLogError(f"log head {head} is before its last entry {self.head}")
            self.head = head
        for dup in dups:
            self._add_dup(dup)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LogEntry]:
        return iter(self._entries)

    def __repr__(self) -> str:
        return f"log(({self.tail},{self.head}], {len(self._entries)} entries)"

    @property
    def entries(self) -> Sequence[LogEntry]:
        """The entries, oldest first (do not mutate)."""
        return self._entries

    @property
    def dups(self) -> Sequence[LogDup]:
        """The dups, oldest first (do not mutate)."""
        return self._dups

    def is_null(self) -> bool:
        """Whether nothing was ever logged (`pg_log_t::null`)."""
        return self.head == ZERO

    def copy(self) -> PgLog:
        return PgLog(self.tail, self.head, self._entries, self._dups)

    def latest(self, oid: ObjectId) -> LogEntry | None:
        """The newest entry that changed `oid`, if the log still has one."""
        return self._objects.get(oid)

    def lookup_reqid(self, reqid: ReqId) -> LogDup | None:
        """The version, user version and return code of an op already logged.

        A resent op found here must not be applied again but answered with this.
        Found while its entry is in the log, and after trimming for as long as
        `osd_pg_log_dups_tracked` allows.
        """
        entry = self._reqids.get(reqid)
        if entry is not None:
            return LogDup.of(entry)
        return self._dup_index.get(reqid)

    def check_append(self, entry: LogEntry) -> None:
        """PgLogError unless ``entry`` may be appended: its eversion and its version
        number both above the head's."""
        if entry.version <= self.head or entry.version.version <= self.head.version:
            raise PgLogError(f"log entry {entry.version} does not follow head {self.head}")

    def knows(self, version: Eversion) -> bool:
        """Whether `version` is on this log's line of history as far as the log still
        tells: its tail (the last entry trimmed), its head, or one of its entries."""
        if version in (self.tail, self.head):
            return True
        if not self.tail < version < self.head:
            return False
        i = bisect.bisect_left(self._entries, version, key=_version_of)
        return i < len(self._entries) and self._entries[i].version == version

    def append(self, entry: LogEntry) -> None:
        """Add a new entry at the head."""
        self.check_append(entry)
        self._entries.append(entry)
        self.head = entry.version
        self._index(entry)

    def entries_after(self, version: Eversion) -> list[LogEntry]:
        """The entries newer than `version`."""
        start = bisect.bisect_right(self._entries, version, key=_version_of)
        return self._entries[start:]

    def copy_after(self, version: Eversion) -> PgLog:
        """The part of the log a peer at `version` lacks (`pg_log_t::copy_after`).

        Its tail is the newest entry at or before `version`, so the copy overlaps
        the peer's log as `merge_log` requires.
        """
        if version < self.tail:
            raise PgLogError(f"{version} is before the log tail {self.tail}: backfill needed")
        start = bisect.bisect_right(self._entries, version, key=_version_of)
        tail = self._entries[start - 1].version if start else self.tail
        return PgLog(tail, self.head, self._entries[start:])

    def rewind_to(self, newhead: Eversion) -> list[LogEntry]:
        """Drop the entries after `newhead` and return them (`rewind_from_head`)."""
        if newhead < self.tail:
            raise PgLogError(f"cannot rewind to {newhead}, before the log tail {self.tail}")
        start = bisect.bisect_right(self._entries, newhead, key=_version_of)
        divergent = self._entries[start:]
        del self._entries[start:]
        for entry in divergent:
            self._unindex(entry)
        self._reindex_objects({e.oid for e in divergent} - self._objects.keys())
        self.head = newhead
        return divergent

    def trim(self, to: Eversion, dups_tracked: int = OSD_PG_LOG_DUPS_TRACKED) -> TrimResult:
        """Drop the entries up to `to`, keeping dups for the recent client ops.

        As `IndexedLog::trim`: a trimmed entry within `dups_tracked` versions of the
        head becomes a dup, and no more than `dups_tracked` dups are kept.
        """
        if to <= self.tail:
            return TrimResult((), (), ())
        if to > self.head:
            raise PgLogError(f"cannot trim to {to}, past the log head {self.head}")
        earliest_dup = self.head.version - dups_tracked + 1
        end = bisect.bisect_right(self._entries, to, key=_version_of)
        trimmed = self._entries[:end]
        del self._entries[:end]
        self.tail = to
        new_dups: list[LogDup] = []
        for entry in trimmed:
            self._unindex(entry)
            if entry.reqid_is_indexed and entry.version.version >= earliest_dup:
                dup = LogDup.of(entry)
                self._add_dup(dup)
                new_dups.append(dup)
        dropped = self._drop_dups(max(len(self._dups) - dups_tracked, 0))
        return TrimResult(tuple(trimmed), tuple(new_dups), tuple(dropped))

    def merge_log(
        self, olog: PgLog, oinfo: PgInfo, info: PgInfo, missing: PgMissing
    ) -> MergeResult:
        """Bring this log in line with the authoritative `olog` (`PGLog::merge_log`).

        Used by a primary adopting the authoritative log and by a replica applying
        the log its primary sends at activation. The logs part after the newest
        entry both hold (`last_shared`): entries of this log after it are divergent
        and thrown out; entries of `olog` after it are appended and their objects
        become missing. Updates `missing` in place; `olog` is only read. The logs
        must share an entry (`last_shared` is None when they do not: backfill).
        """
        shared = last_shared(olog, self)
        if shared is None:
            raise PgLogError(f"{self!r} shares no entry with {olog!r}: backfill needed")
        if olog.tail < self.tail:
            self._extend_tail(olog)
            info = msgspec.structs.replace(info, log_tail=self.tail)
        # Everything of ours after the last entry both logs hold is divergent and
        # undone first, against the history both share (as the primary reckons it in
        # proc_replica_log); then everything of theirs after it is new to us.
        dropped = self.rewind_to(shared) if self.head > shared else []
        remove = _merge_divergent_entries(dropped, info, missing)
        new = olog.entries_after(shared)
        for entry in new:
            self.append(entry)
            if not info.covers(entry.oid):
                continue
            missing.add_next_event(entry)
            if entry.is_delete:
                remove.add(entry.oid)
        self.head = olog.head
        info = msgspec.structs.replace(info, last_update=olog.head)
        if new:
            info = msgspec.structs.replace(info, last_user_version=oinfo.last_user_version)
        self._merge_dups(olog)
        info = msgspec.structs.replace(
            info, last_complete=last_complete_for(self, info.last_update, missing)
        )
        return MergeResult(info, frozenset(remove), tuple(dropped))

    def encode(self) -> bytes:
        """The whole log as msgpack (for messages; the store keeps one row per entry)."""
        return _ENCODER.encode(_WireLog(self.tail, self.head, self._entries, self._dups))

    @classmethod
    def decode(cls, data: bytes) -> PgLog:
        """Decode `encode`'s bytes; raises `PgLogError` on anything malformed."""
        wire = _decode(_LOG_DECODER, data, "pg log")
        return cls(wire.tail, wire.head, wire.entries, wire.dups)

    def _index(self, entry: LogEntry) -> None:
        # An error entry leaves its object as it was, so it must not shadow the
        # entry that last changed it.
        if not entry.is_error:
            current = self._objects.get(entry.oid)
            if current is None or current.version < entry.version:
                self._objects[entry.oid] = entry
        if entry.reqid_is_indexed:
            assert entry.reqid is not None
            self._reqids[entry.reqid] = entry

    def _unindex(self, entry: LogEntry) -> None:
        if self._objects.get(entry.oid) is entry:
            del self._objects[entry.oid]
        if entry.reqid is not None and self._reqids.get(entry.reqid) is entry:
            del self._reqids[entry.reqid]

    def _reindex_objects(self, oids: set[ObjectId]) -> None:
        """After a rewind, point `oids` back at their newest remaining entry."""
        for entry in reversed(self._entries):
            if not oids:
                return
            if entry.oid in oids and not entry.is_error:
                self._objects[entry.oid] = entry
                oids.discard(entry.oid)

    def _add_dup(self, dup: LogDup) -> None:
        if self._dups and dup.version <= self._dups[-1].version:
            raise PgLogError(f"dup {dup.version} does not follow {self._dups[-1].version}")
        if dup.version > self.tail:
            raise PgLogError(f"dup {dup.version} is after the log tail {self.tail}")
        self._dups.append(dup)
        self._dup_index[dup.reqid] = dup

    def _drop_dups(self, count: int) -> list[LogDup]:
        dropped = self._dups[:count]
        del self._dups[:count]
        for dup in dropped:
            if self._dup_index.get(dup.reqid) is dup:
                del self._dup_index[dup.reqid]
        return dropped

    def _extend_tail(self, olog: PgLog) -> None:
        # Older history only: it does not change what is missing, which already
        # matches this log.
        older = [e for e in olog.entries if e.version <= self.tail]
        self._entries[:0] = older
        for entry in older:
            self._index(entry)
        self.tail = olog.tail

    def _merge_dups(self, olog: PgLog) -> None:
        """`merge_log_dups`: keep the union of both dup lists, below our tail."""
        if not olog.dups and not self._dups:
            return
        merged = {d.version: d for d in self._dups}
        merged.update((d.version, d) for d in olog.dups)
        self._drop_dups(len(self._dups))
        for version in sorted(merged):
            if version <= self.tail:
                self._add_dup(merged[version])


def _version_of(entry: LogEntry) -> Eversion:
    return entry.version


def _merge_divergent_entries(
    entries: Sequence[LogEntry], info: PgInfo, missing: PgMissing
) -> set[ObjectId]:
    """Undo divergent entries (those after where the logs part) object by object;
    returns the objects to remove. What the authoritative log changed after that
    point is accounted for afterwards (`PgMissing.add_next_event`), which also covers
    Ceph's case 1 (an object changed again by the authoritative log)."""
    by_object: dict[ObjectId, list[LogEntry]] = {}
    for entry in entries:
        if not entry.is_error:
            by_object.setdefault(entry.oid, []).append(entry)
    remove: set[ObjectId] = set()
    for oid, object_entries in by_object.items():
        if info.covers(oid) and _merge_object_divergent(oid, object_entries, missing):
            remove.add(oid)
    return remove


def _merge_object_divergent(oid: ObjectId, entries: list[LogEntry], missing: PgMissing) -> bool:
    """`_merge_object_divergent_entries` for one object, without local rollback.

    Returns whether the local copy must be removed.
    """
    prior = entries[0].prior_version
    # A divergent delete already removed the local copy (unless it was missing).
    stored = oid in missing or not entries[-1].is_delete
    if prior == ZERO or entries[0].is_clone:
        # Case 2: the object did not exist before the divergent entries.
        missing.rm(oid)
        return stored
    current = missing.get(oid)
    if current is not None:
        # Case 3: never applied locally; what we have may already be right.
        if current.have == prior:
            missing.rm(oid)
        else:
            missing.revise_need(oid, prior)
        return False
    # Case 5: replicated pools cannot roll back, so recover the prior version.
    missing.add(oid, prior, ZERO)
    return stored


def last_shared(log: PgLog, other: PgLog) -> Eversion | None:
    """The newest version on both logs' lines of history: where `other` parts from
    `log` (Ceph's "merge_log point (usually last shared)"). `None` when neither log
    still holds a version of the other's line (one was trimmed past where they part,
    or they do not overlap): `other`'s copy cannot be caught up from `log`, only
    backfilled.

    An eversion names one change (one primary per epoch gives out versions), so two
    logs holding the same version agree up to it. Entries of `log` below `other`'s
    head need not be in `other`: a copy down while an interval took an entry can come
    back with a later one of its own that was never acknowledged (taken by an
    interval that had thrown the first out as divergent, before a later peering
    without that copy took the first back), so the parting point is searched for,
    not assumed to be the newest entry of `log` at or before `other`'s head.
    """
    entries = other.entries
    below = bisect.bisect_right(entries, log.head, key=_version_of)
    candidates = itertools.chain(
        (other.head,),
        (entries[i].version for i in range(below - 1, -1, -1)),
        (other.tail,),
    )
    for version in candidates:
        if version > log.head:
            continue
        if version < log.tail:
            return None
        if log.knows(version):
            return version
    return None


def proc_replica_log(log: PgLog, oinfo: PgInfo, olog: PgLog, omissing: PgMissing) -> PeerView:
    """The primary's reckoning of a peer against the authoritative `log`.

    As `PGLog::proc_replica_log`: finds where the peer's log `olog` parts from `log`
    (`last_shared`, which must not be None: the peer is backfilled then), treats the
    peer's later entries as divergent, and returns the peer's info with `last_update`
    moved back to the common point, plus its missing set with the divergent objects.
    The peer's log itself is left untouched: the primary then sends it
    `log.copy_after(view.info.last_update)` and accounts for those entries with
    `catch_up_missing`.
    """
    omissing = omissing.copy()
    if olog.head < log.tail or olog.head == log.head:
        return PeerView(oinfo, omissing)
    lu = last_shared(log, olog)
    if lu is None:
        raise PgLogError(f"{olog!r} shares no entry with {log!r}: backfill needed")
    _merge_divergent_entries(olog.entries_after(lu), oinfo, omissing)
    last_update = min(lu, oinfo.last_update)
    oinfo = msgspec.structs.replace(
        oinfo,
        last_update=last_update,
        last_complete=last_complete_for(olog, last_update, omissing),
    )
    return PeerView(oinfo, omissing)


def catch_up_missing(log: PgLog, peer_info: PgInfo, peer_missing: PgMissing) -> PgMissing:
    """A peer's missing set once it has logged what `log` has after its last update.

    This is what the primary records for the peer at activation; the peer reaches the
    same set itself by merging `log.copy_after(peer_info.last_update)`.
    """
    missing = peer_missing.copy()
    for entry in log.entries_after(peer_info.last_update):
        if peer_info.covers(entry.oid):
            missing.add_next_event(entry)
    return missing


def last_complete_for(log: PgLog, last_update: Eversion, missing: PgMissing) -> Eversion:
    """The newest version up to which nothing is missing.

    `last_update` when nothing is missing, else the newest log entry older than the
    oldest missing version (`0'0` when there is none), as `proc_replica_log` sets it.
    """
    first_need = missing.first_need()
    if first_need is None:
        return last_update
    end = bisect.bisect_left(log.entries, first_need, key=_version_of)
    return log.entries[end - 1].version if end else ZERO


def needs_backfill(auth_log: PgLog, peer_info: PgInfo, peer_log: PgLog) -> bool:
    """Whether a peer cannot be recovered from the authoritative log alone.

    True when an earlier backfill into it did not finish, or when the logs share no
    entry (`last_shared`): its last update is older than the log's tail, or the
    logs part before one of them was trimmed.
    """
    return peer_info.is_incomplete or last_shared(auth_log, peer_log) is None


def find_best_info(infos: Mapping[int, PgInfo], primary: int) -> int | None:
    """The OSD whose log is authoritative, for a replicated pool (`find_best_info`).

    As Ceph's (doc/dev/osd_internals/last_epoch_started.rst): the newest epoch a copy
    says the PG went active in (a history's `last_epoch_started`, or a complete copy's
    own) bounds the writes acknowledged so far by `min_last_update_acceptable`; every
    complete copy whose `last_update` reaches that bound qualifies, whatever its own
    `last_epoch_started`. Among them the newest `last_update` wins; ties go to a
    longer log, then to a copy with nothing missing, then to the primary. `None` when
    no OSD qualifies.

    A copy that qualifies with an older `last_epoch_started` holds entries no
    acknowledged write contradicts. Taking only the copies of the newest epoch instead
    would lose writes: a primary that died mid-activation keeps that epoch with the
    log it adopted, while the others may since have taken (peered, without it) a
    newer entry of an object over that log's version, which then no copy holds.
    """
    max_les = 0
    for info in infos.values():
        max_les = max(max_les, info.history.last_epoch_started)
        if not info.is_incomplete:
            max_les = max(max_les, info.last_epoch_started)
    acceptable = min_last_update_acceptable(infos, max_les)
    if acceptable is None:
        return None
    candidates = [
        (osd, info)
        for osd, info in infos.items()
        if info.last_update >= acceptable and not info.is_incomplete
    ]
    if not candidates:
        return None

    def rank(item: tuple[int, PgInfo]) -> tuple[Eversion, int, int, bool, bool]:
        osd, info = item
        # A longer log (an older tail) ranks higher, hence the negated tail.
        tail = info.log_tail
        return (info.last_update, -tail.epoch, -tail.version, not info.has_missing, osd == primary)

    return max(candidates, key=rank)[0]


def min_last_update_acceptable(infos: Mapping[int, PgInfo], max_les: int) -> Eversion | None:
    """The oldest `last_update` among the copies that went active in epoch `max_les`
    or later (Ceph's `min_last_update_acceptable`), `None` when there is none.

    Every write acknowledged to a client was committed by every member of its
    interval after each recorded its activation epoch; every copy that activated in
    that interval or later holds it, so this is an upper bound on what was
    acknowledged: a log reaching it loses none of those writes.
    """
    return min(
        (info.last_update for info in infos.values() if info.last_epoch_started >= max_les),
        default=None,
    )


def target_log_entries(
    num_pgs: int,
    target_per_osd: int = OSD_TARGET_PG_LOG_ENTRIES_PER_OSD,
    min_entries: int = OSD_MIN_PG_LOG_ENTRIES,
    max_entries: int = OSD_MAX_PG_LOG_ENTRIES,
) -> int:
    """How many entries each PG of an OSD keeps (`get_target_pg_log_entries`).

    The OSD's budget spread evenly over its PGs, never below `osd_min_pg_log_entries`
    nor above `osd_max_pg_log_entries`.
    """
    if num_pgs <= 0 or target_per_osd <= 0:
        return min_entries
    return max(min(target_per_osd // num_pgs, max_entries), min_entries)


def calc_trim_to(
    log: PgLog,
    target: int,
    limit: Eversion,
    trim_min: int = OSD_PG_LOG_TRIM_MIN,
    trim_max: int = OSD_PG_LOG_TRIM_MAX,
) -> Eversion | None:
    """Where the primary may trim the log to, or `None` (`calc_trim_to`).

    Keeps `target` entries, trims in batches of at least `trim_min` and at most
    `trim_max`, and never past `limit` — the oldest `last_complete` of the acting set,
    since a member still missing objects needs the log to recover them.
    """
    size = len(log)
    if limit == ZERO or size <= target:
        return None
    num_to_trim = min(size - target, trim_max)
    if num_to_trim < trim_min <= trim_max:
        return None
    entries = log.entries
    trim_to = min(entries[size - target - 1].version, entries[num_to_trim - 1].version, limit)
    return trim_to if trim_to > log.tail else None


class _WireMissing(msgspec.Struct, frozen=True, array_like=True):
    items: list[tuple[ObjectId, MissingItem]]


class _WireLog(msgspec.Struct, frozen=True, array_like=True):
    tail: Eversion
    head: Eversion
    entries: list[LogEntry]
    dups: list[LogDup]


_ENCODER = msgspec.msgpack.Encoder()
_ENTRY_DECODER = msgspec.msgpack.Decoder(LogEntry)
_INFO_DECODER = msgspec.msgpack.Decoder(PgInfo)
_MISSING_DECODER = msgspec.msgpack.Decoder(_WireMissing)
_LOG_DECODER = msgspec.msgpack.Decoder(_WireLog)


def _decode(decoder: msgspec.msgpack.Decoder[_T], data: bytes, what: str) -> _T:
    try:
        return decoder.decode(data)
    except (msgspec.DecodeError, ValueError) as exc:
        raise PgLogError(f"corrupt {what}: {exc}") from exc
