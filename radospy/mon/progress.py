"""Progress events (`ceph progress`, the ``progress:`` section of `ceph -s`), as the
manager's progress module makes them, from the PG stats alone (pure; the leader feeds
it).

* Marking an OSD out or in starts "Rebalancing after osd.N marked out|in" over the PGs
  that had the OSD in their up or acting set then; its progress is the fraction of
  those PGs that are active+clean again.
* PGs that are not active+clean and belong to no such event start a "Global Recovery
  Event" over them; more PGs that fall behind join it.

An event whose PGs are all clean completes; the last `KEEP_COMPLETED` stay listed.
The time left is the elapsed time scaled by what is left, as the module estimates it.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from radospy.mon.messages import PgStat
from radospy.mon.osd_output import timespan_str

KEEP_COMPLETED = 10
BAR_WIDTH = 28
"""Characters between the brackets of a progress bar."""


@dataclass
class Event:
    """One thing in progress."""

    id: str
    message: str
    refs: list[list[Any]]
    started_at: float
    pgs: set[tuple[int, int]]
    progress: float = 0.0
    finished_at: float | None = None
    objects_recovered: int = 0
    """Objects the primaries reported recovered while the event ran."""
    bytes_recovered: int = 0

    def time_remaining(self, now: float) -> float | None:
        if self.progress <= 0.0 or self.progress >= 1.0:
            return None
        return (now - self.started_at) * (1.0 - self.progress) / self.progress

    def duration(self, now: float) -> int:
        end = self.finished_at if self.finished_at is not None else now
        return int(end - self.started_at)

    def bar(self, now: float) -> str:
        """``[===.........................] (remaining: 10m)``; a space, no estimate,
        when there is none yet."""
        done = int(self.progress * BAR_WIDTH)
        text = "[" + "=" * done + "." * (BAR_WIDTH - done) + "]"
        left = self.time_remaining(now)
        return text + (f" (remaining: {timespan_str(left)})" if left is not None else " ")


def _clean(pg: PgStat) -> bool:
    words = set(pg.state.split("+"))
    return {"active", "clean"} <= words and not words & {"stale", "remapped"}


@dataclass
class Progress:
    """The leader's events."""

    events: dict[str, Event] = field(default_factory=dict)
    completed: deque[Event] = field(default_factory=lambda: deque(maxlen=KEEP_COMPLETED))
    _recovered: tuple[int, int] | None = None
    """The reported recovery counters' sums (objects, bytes) at the last update."""

    def osd_marked(self, osd: int, direction: str, rows: Iterable[PgStat], now: float) -> None:
        """``osd`` was marked ``out`` or ``in``: follow the PGs it was mapped to."""
        pgs = {(pg.pool, pg.seed) for pg in rows if osd in pg.up or osd in pg.acting}
        message = f"Rebalancing after osd.{osd} marked {direction}"
        for ev in list(self.events.values()):
            if ev.refs == [["osd", osd]]:
                del self.events[ev.id]
        ev = Event(str(uuid.uuid4()), message, [["osd", osd]], now, pgs)
        self.events[ev.id] = ev

    def update(self, rows: list[PgStat], now: float) -> None:
        """Recompute every event's progress from the current PG states."""
        totals = (
            sum(pg.num_objects_recovered for pg in rows),
            sum(pg.num_bytes_recovered for pg in rows),
        )
        # Counters restart with a new primary: only growth counts.
        last = self._recovered or totals
        grown = (max(0, totals[0] - last[0]), max(0, totals[1] - last[1]))
        self._recovered = totals
        for ev in self.events.values():
            ev.objects_recovered += grown[0]
            ev.bytes_recovered += grown[1]
        clean = {(pg.pool, pg.seed) for pg in rows if _clean(pg)}
        present = {(pg.pool, pg.seed) for pg in rows}
        covered: set[tuple[int, int]] = set()
        for ev in self.events.values():
            if ev.refs != [["global", ""]]:
                covered |= ev.pgs
        behind = present - clean - covered
        glob = next((e for e in self.events.values() if e.refs == [["global", ""]]), None)
        if behind:
            if glob is None:
                glob = Event(str(uuid.uuid4()), "Global Recovery Event", [["global", ""]],
                             now, set())  # fmt: skip
                self.events[glob.id] = glob
            glob.pgs |= behind
        for ev in list(self.events.values()):
            ev.pgs &= present
            done = len(ev.pgs & clean)
            ev.progress = done / len(ev.pgs) if ev.pgs else 1.0
            if ev.progress >= 1.0:
                ev.finished_at = now
                del self.events[ev.id]
                self.completed.append(ev)

    # --- output -------------------------------------------------------------------------

    def json(self, now: float) -> dict[str, Any]:
        """`ceph progress json`."""
        return {
            "completed": [
                {
                    "add_to_ceph_s:": False,
                    "finished_at": ev.finished_at,
                    "id": ev.id,
                    "message": ev.message,
                    "refs": ev.refs,
                    "started_at": ev.started_at,
                }
                for ev in self.completed
            ],
            "events": [
                {
                    "duration": f"({ev.duration(now)}s)",
                    "id": ev.id,
                    "message": ev.message,
                    "progress": ev.progress,
                    "refs": ev.refs,
                    "started_at": ev.started_at,
                    "time_remaining": int(left) if (left := ev.time_remaining(now)) else 0,
                }
                for ev in self.events.values()
            ],
        }

    def text(self, now: float) -> str:
        """`ceph progress`: events in progress, then the completed ones."""
        if not self.events and not self.completed:
            return "Nothing in progress\n"
        out = []
        for ev in self.events.values():
            out.append(f"{ev.message} ({ev.duration(now)}s)\n    {ev.bar(now)}\n")
        for ev in reversed(self.completed):
            bar = "[" + "=" * BAR_WIDTH + "] "
            out.append(f"[Complete]: {ev.message} ({ev.duration(now)}s)\n    {bar}\n")
        return "".join(out)

    def status_json(self, now: float) -> dict[str, Any]:
        """`ceph -s --format json`'s ``progress_events``, with what each event
        recovered and the time it expects to need."""
        return {
            ev.id: {
                "message": ev.message,
                "progress": ev.progress,
                "objects_recovered": ev.objects_recovered,
                "bytes_recovered": ev.bytes_recovered,
                "time_remaining": int(left) if (left := ev.time_remaining(now)) else 0,
            }
            for ev in self.events.values()
        }

    def status_lines(self, now: float) -> list[str]:
        """The ``progress:`` section of `ceph -s` (empty when nothing is in progress)."""
        if not self.events:
            return []
        lines = ["  progress:"]
        for ev in self.events.values():
            lines += [f"    {ev.message} ({ev.duration(now)}s)", f"      {ev.bar(now)}"]
        return lines
