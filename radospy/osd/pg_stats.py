"""What a primary counts about one PG between its reports to the monitors, as a pure
value: the state stamps, client I/O counters and recovery counters of Ceph's
``pg_stat_t``, and the degraded/misplaced object counts its recovery progress implies.

Ceph keeps these in the PG info and so across restarts and primary changes; radospy
counts them in the primary's memory: a new primary starts its counters at zero, which
the monitors' rate computation (``radospy.mon.pgmap``) takes as a restart, not as a
negative rate. The stamps follow ``PeeringState::publish_stats_to_osd``: each
``last_<property>`` is the last time the PG was seen with that property.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from radospy.common.osdop import (
    AnyOpResult,
    Append,
    OmapSet,
    OsdOp,
    Read,
    ReadData,
    Write,
    WriteFull,
    WriteSame,
)
from radospy.osd.peering import PgState, pg_state_string


@dataclass
class PgStatTracker:
    """State stamps and counters of one PG on its primary."""

    state: str = ""
    last_change: float = 0.0
    last_active: float = 0.0
    last_peered: float = 0.0
    last_clean: float = 0.0
    last_unstale: float = 0.0
    last_undegraded: float = 0.0
    last_fullsized: float = 0.0
    last_became_active: float = 0.0
    seq: int = 0
    num_read: int = 0
    num_read_kb: int = 0
    num_write: int = 0
    num_write_kb: int = 0
    num_objects_recovered: int = 0
    num_bytes_recovered: int = 0
    num_keys_recovered: int = 0
    backfilled: dict[int, int] = field(default_factory=dict)
    """Objects pushed to each backfill target in its current backfill."""
    interval_started: float = 0.0
    """When this OSD saw the PG's current interval begin."""

    def new_interval(self, state: PgState, now: float) -> None:
        """The PG entered a new interval (its backfills start over)."""
        self.interval_started = now
        self.backfilled.clear()
        self.note_state(state, now)

    def note_state(self, state: PgState, now: float) -> None:
        """Stamp the properties ``state`` has at ``now``; a new state string moves
        ``last_change``."""
        text = pg_state_string(state)
        if not self.last_change:
            # A new PG: Ceph stamps every `last_*` with its creation.
            self.last_active = self.last_peered = self.last_clean = now
            self.last_undegraded = self.last_fullsized = now
        if text != self.state:
            if state & PgState.ACTIVE and "active" not in self.state.split("+"):
                self.last_became_active = now
            self.state = text
            self.last_change = now
        self.last_unstale = now
        if state & PgState.ACTIVE:
            self.last_active = now
        if state & (PgState.ACTIVE | PgState.PEERED):
            self.last_peered = now
        if state & PgState.CLEAN:
            self.last_clean = now
        if not state & PgState.DEGRADED:
            self.last_undegraded = now
        if not state & PgState.UNDERSIZED:
            self.last_fullsized = now

    def count_read(self, results: Iterable[AnyOpResult]) -> None:
        """One client read op; its bytes are what it returned."""
        size = sum(len(r.data) for r in results if isinstance(r, ReadData))
        self.num_read += 1
        self.num_read_kb += _kb(size)

    def count_write(self, ops: Iterable[OsdOp]) -> None:
        """One client write op; its bytes are the data it carried."""
        self.num_write += 1
        self.num_write_kb += _kb(written_bytes(ops))

    def count_recovered(self, nbytes: int, keys: int) -> None:
        """One object copy pushed to a member that missed it."""
        self.num_objects_recovered += 1
        self.num_bytes_recovered += nbytes
        self.num_keys_recovered += keys

    def next_seq(self) -> int:
        """The ``reported_seq`` of the next report."""
        self.seq += 1
        return self.seq


def _kb(nbytes: int) -> int:
    # Ceph rounds each op up to whole KiB (``shift_round_up(len, 10)``).
    return (nbytes + 1023) >> 10


def written_bytes(ops: Iterable[OsdOp]) -> int:
    """The payload bytes of a write op list (data writes and omap values)."""
    total = 0
    for op in ops:
        if isinstance(op, Write | WriteFull | Append | WriteSame):
            total += len(op.data)
        elif isinstance(op, OmapSet):
            total += sum(len(k.encode()) + len(v) for k, v in op.entries.items())
    return total


def is_read(ops: Iterable[OsdOp]) -> bool:
    """Whether an op list reads data (a `Read` op), for the read counter."""
    return any(isinstance(op, Read) for op in ops)


@dataclass(frozen=True)
class ObjectCounts:
    """How many object copies are missing (degraded) or on the wrong OSD (misplaced),
    out of ``copies`` (objects times pool size)."""

    degraded: int
    misplaced: int
    copies: int


def object_counts(
    num_objects: int,
    size: int,
    up: Iterable[int],
    acting: Iterable[int],
    missing: Mapping[int, int],
    backfill: Mapping[int, int],
) -> ObjectCounts:
    """The degraded and misplaced copies of a PG (``PeeringState::update_calc_stats``,
    simplified to replicated pools).

    ``missing`` is the number of objects each member (the primary included) misses,
    ``backfill`` how many objects each backfill target still lacks. A copy is degraded
    when no OSD of the acting set that should hold it has it: a missing object on an
    acting member, an acting member still being backfilled, or an acting set smaller
    than ``size``. A copy is misplaced when it exists, but on an acting OSD outside the
    up set while the up member that should hold it is still being backfilled.
    """
    up_set = [o for o in up if o >= 0]
    acting_set = [o for o in acting if o >= 0]
    degraded = num_objects * max(0, size - len(acting_set))
    misplaced = 0
    for osd in acting_set:
        if osd in backfill:
            degraded += min(num_objects, backfill[osd])
        else:
            degraded += min(num_objects, missing.get(osd, 0))
    for osd in up_set:
        if osd not in acting_set and osd in backfill:
            misplaced += min(num_objects, backfill[osd])
    copies = num_objects * size
    return ObjectCounts(min(degraded, copies), min(misplaced, copies), copies)
