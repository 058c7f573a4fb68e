"""What an OSD tells the monitors about itself, and the full checks on its write path.

Every ``osd_mon_report_interval`` an OSD sends `OsdStatReport`: its store usage and,
for each PG it is primary for, the PG's objects, bytes, state and log length. Capacity
is the file system's unless ``osd_capacity`` is set: then the OSD behaves as a device
of that size (a small one lets tests fill an OSD). The space in use is what the store
occupies, so OSDs sharing one file system do not count each other's data.

Writes are refused before a disk fills, as Ceph's primary does it
(``PrimaryLogPG::prepare_transaction``): in a pool the monitors flagged ``full``, an op
that may add objects or bytes fails with EDQUOT when the pool is over its quota
(``full_quota``) and ENOSPC otherwise; removals, truncations and reads go through, so a
user can get back under the limit. Ceph's librados would park such a write until the
flag clears unless the caller asked for ``FULL_TRY``; radospy's client never parks a
write, so every caller gets the FULL_TRY answer. Independently, an OSD whose own usage
passed the failsafe ratio (``osd_failsafe_full_ratio``, 0.97) refuses such writes with
ENOSPC even before the monitors have reacted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from errno import EDQUOT, ENOSPC

from radospy.common.osdop import (
    Append,
    Create,
    OmapSet,
    OmapSetHeader,
    OsdOp,
    Rollback,
    SetXattr,
    Write,
    WriteFull,
    WriteSame,
)
from radospy.mon.messages import OsdStat, PgStat
from radospy.osd.objectstore.transaction import Transaction, WriteData
from radospy.osd.objectstore.types import StatFs
from radospy.osd.peering import PgState, PgView, pg_state_string
from radospy.osd.pg_stats import ObjectCounts, PgStatTracker
from radospy.osd.pglog import PgLog
from radospy.osd.scrub import ScrubRecord
from radospy.osdmap.pg import PgId
from radospy.osdmap.pool import Pool, PoolFlag

FAILSAFE_FULL_RATIO = 0.97
"""``osd_failsafe_full_ratio``: past this an OSD refuses growing writes by itself."""

_GROWING = (
    Create, Write, WriteFull, Append, WriteSame, SetXattr, OmapSet, OmapSetHeader, Rollback,
)  # fmt: skip


def osd_stat(statfs: StatFs, capacity: int, num_pgs: int) -> OsdStat:
    """The usage an OSD reports: raw use is the store's size; available is what the
    file system still has, within ``capacity`` (0: no cap) when one is set."""
    used = statfs.used
    if capacity > 0:
        total = capacity
        available = max(0, min(capacity - used, statfs.available))
    else:
        total = used + statfs.available
        available = statfs.available
    return OsdStat(total, available, statfs.stored, 0, num_pgs)


def pg_stat(
    pgid: PgId,
    state: PgState,
    view: PgView,
    epoch: int,
    usage: tuple[int, int],
    log: PgLog,
    tracker: PgStatTracker,
    counts: ObjectCounts,
    mapping_epoch: int,
    missing_on_primary: int,
    scrub: ScrubRecord | None = None,
    blocked_by: frozenset[int] = frozenset(),
    last_epoch_clean: int = 0,
) -> PgStat:
    """One primary PG's report line, its state as `ceph pg dump` prints it."""
    objects, size = usage
    s = scrub or ScrubRecord()
    return PgStat(
        pgid.pool,
        pgid.seed,
        pg_state_string(state),
        epoch,
        objects,
        size,
        len(log),
        list(view.acting),
        str(s.last_scrub),
        s.last_scrub_stamp,
        str(s.last_deep_scrub),
        s.last_deep_scrub_stamp,
        s.num_scrub_errors,
        up=list(view.up),
        up_primary=view.up_primary,
        acting_primary=view.primary,
        reported_seq=tracker.next_seq(),
        version=log.head,
        log_tail=log.tail,
        ondisk_log_size=len(log),
        last_fresh=tracker.last_unstale,
        last_change=tracker.last_change,
        last_active=tracker.last_active,
        last_peered=tracker.last_peered,
        last_clean=tracker.last_clean,
        last_unstale=tracker.last_unstale,
        last_undegraded=tracker.last_undegraded,
        last_fullsized=tracker.last_fullsized,
        last_became_active=tracker.last_became_active,
        mapping_epoch=mapping_epoch,
        num_objects_missing_on_primary=missing_on_primary,
        num_objects_degraded=counts.degraded,
        num_objects_misplaced=counts.misplaced,
        num_object_copies=counts.copies,
        num_read=tracker.num_read,
        num_read_kb=tracker.num_read_kb,
        num_write=tracker.num_write,
        num_write_kb=tracker.num_write_kb,
        num_objects_recovered=tracker.num_objects_recovered,
        num_bytes_recovered=tracker.num_bytes_recovered,
        num_keys_recovered=tracker.num_keys_recovered,
        blocked_by=sorted(blocked_by),
        last_epoch_clean=last_epoch_clean,
    )


def may_grow(ops: Sequence[OsdOp]) -> bool:
    """Whether an op list may add objects or bytes (Ceph: a positive stats delta)."""
    return any(isinstance(op, _GROWING) for op in ops)


def growth(ops: Sequence[OsdOp]) -> int:
    """The data bytes an op list may add at most (what the failsafe check counts
    between two usage reports)."""
    total = 0
    for op in ops:
        if isinstance(op, (Write, WriteFull, Append)):
            total += len(op.data)
        elif isinstance(op, WriteSame):
            total += op.length
    return total


def replica_growth(txn: Transaction) -> int:
    """The data bytes a replicated transaction may add at most. A replica counts them
    towards its failsafe check as the primary counts a client's: every OSD of a PG
    stores the data, and counting only the writes an OSD is primary for let a fast
    writer overfill the OSDs about threefold between two usage measurements."""
    return sum(len(op.data) for op in txn.ops if isinstance(op, WriteData))


@dataclass(frozen=True)
class Refusal:
    """Why a growing write is refused: the error it fails with and, for the OSD's log,
    the condition that decided."""

    errno: int
    """EDQUOT or ENOSPC (positive; the reply carries it negated)."""
    reason: str


def write_refusal(
    pool: Pool, ops: Sequence[OsdOp], own: OsdStat | None, pending: int = 0
) -> Refusal | None:
    """None if the write may proceed, else why it is refused. ``pending`` is what this
    OSD accepted since ``own`` was measured, as primary and as replica: usage is
    measured once per report interval, and a fast writer would otherwise fill the
    device in between."""
    if not may_grow(ops):
        return None
    if pool.flags & PoolFlag.FULL_QUOTA:
        return Refusal(EDQUOT, "pool flag full_quota")
    if pool.flags & PoolFlag.FULL:
        return Refusal(ENOSPC, "pool flag full")
    if own is not None and own.total:
        used = own.total - own.available
        if used + pending > own.total * FAILSAFE_FULL_RATIO:
            return Refusal(
                ENOSPC,
                f"failsafe: {used} bytes used + {pending} accepted since measured"
                f" > {FAILSAFE_FULL_RATIO:.0%} of {own.total}",
            )
    return None


@dataclass
class PendingGrowth:
    """The data bytes an OSD accepted that its last usage measurement may not include,
    which the failsafe check adds to that usage. A measurement runs in a thread while
    writes go on: `mark` before it starts and `measured` once it is taken keep what was
    accepted meanwhile (the measurement may or may not include it; counting it twice
    is the safe side), where resetting to 0 before measuring dropped, while the
    measurement ran, everything accepted since the previous one."""

    bytes: int = 0

    def add(self, n: int) -> None:
        """A write of up to ``n`` data bytes was accepted."""
        self.bytes += n

    def mark(self) -> int:
        """Before a usage measurement starts: what it may include at most."""
        return self.bytes

    def measured(self, mark: int) -> None:
        """The measurement started at ``mark`` is now this OSD's usage."""
        self.bytes -= mark
