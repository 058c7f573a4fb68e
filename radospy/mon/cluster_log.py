"""The cluster log (`ceph log last`, `ceph -w`): a bounded ring of Ceph-style lines
kept in the memory of each monitor, not replicated.

Every monitor notes the OSDMap changes it applies (boot, down, out, in); the leader
adds what only it sees: failure decisions, health checks failing, changing and clearing,
and PG state summaries. So the leader's ring is the complete one, and a new leader's
ring holds the map changes it applied before it led; a restarted monitor starts empty.
Ceph's monitors replicate their log through Paxos; radospy keeps the last
`LOG_CAPACITY` entries per monitor instead, which is what `ceph -w` needs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from radospy.mon.health import HealthCheck
from radospy.mon.state import format_stamp
from radospy.osdmap.osdmap import OSDMap

LOG_CAPACITY = 1000
"""Entries kept (Ceph's ``mon_log_max_summary`` is 50 for the summary it keeps)."""

PRIORITIES = {"debug": "[DBG]", "info": "[INF]", "sec": "[SEC]", "warn": "[WRN]", "error": "[ERR]"}
"""`ceph log last`'s level names and how a line shows each."""
_RANK = {p: i for i, p in enumerate(PRIORITIES.values())}


@dataclass(frozen=True)
class LogEntry:
    """One line: who logged it, when, its sequence number and priority."""

    seq: int
    stamp: float
    name: str
    rank: str
    channel: str
    priority: str
    message: str

    def line(self) -> str:
        """``2026-11-28T19:44:02.195659+0000 mon.a (mon.0) 99 : cluster [INF] ...``."""
        return json_line(self.json())

    def json(self) -> dict[str, Any]:
        """``LogEntry::dump``."""
        return {
            "name": self.name,
            "rank": self.rank,
            "stamp": format_stamp(self.stamp),
            "seq": self.seq,
            "channel": self.channel,
            "priority": self.priority,
            "message": self.message,
        }


class ClusterLog:
    """The ring of one monitor."""

    def __init__(self, name: str, rank: str, capacity: int = LOG_CAPACITY) -> None:
        self.name = name
        self.rank = rank
        self.entries: deque[LogEntry] = deque(maxlen=capacity)
        self.seq = 0

    def add(self, stamp: float, priority: str, message: str, channel: str = "cluster") -> None:
        """Append a line; ``priority`` is a `PRIORITIES` value such as ``[WRN]``."""
        self.seq += 1
        self.entries.append(
            LogEntry(self.seq, stamp, self.name, self.rank, channel, priority, message)
        )

    def last(
        self, num: int, level: str = "info", channel: str = "cluster", after: int = 0
    ) -> list[LogEntry]:
        """The last ``num`` entries at ``level`` or above in ``channel`` (``*``: any),
        oldest first; only those numbered above ``after`` when given."""
        floor = _RANK[PRIORITIES[level]]
        found = [
            e
            for e in self.entries
            if e.seq > after
            and _RANK.get(e.priority, 0) >= floor
            and (channel == "*" or e.channel == channel)
        ]
        return found[-num:] if num > 0 else []


def osdmap_events(before: OSDMap, after: OSDMap) -> list[tuple[str, str]]:
    """(priority, message) for each OSD that booted or went down between two maps, in
    OSD order, then each marked out or in."""
    out: list[tuple[str, str]] = []
    for osd in range(after.max_osd):
        if not after.exists(osd):
            continue
        known = osd < before.max_osd and before.exists(osd)
        was_up = known and before.is_up(osd)
        if after.is_up(osd) and not was_up:
            addr = after.osds[osd].public_addr
            out.append(("[INF]", f"osd.{osd} [v2:{addr}/0] boot" if addr else f"osd.{osd} boot"))
        elif was_up and not after.is_up(osd):
            out.append(("[INF]", f"osd.{osd} marked down"))
    out += [("[INF]", f"osd.{osd} marked {how}") for osd, how in marked_out_or_in(before, after)]
    return out


def marked_out_or_in(before: OSDMap, after: OSDMap) -> list[tuple[int, str]]:
    """(osd, ``out`` or ``in``) for each existing OSD whose in/out state changed."""
    out = []
    for osd in range(min(before.max_osd, after.max_osd)):
        if not (before.exists(osd) and after.exists(osd)):
            continue
        if before.is_in(osd) and after.is_out(osd):
            out.append((osd, "out"))
        elif before.is_out(osd) and after.is_in(osd):
            out.append((osd, "in"))
    return out


def health_events(
    before: dict[str, HealthCheck], after: dict[str, HealthCheck]
) -> list[tuple[str, str]]:
    """(priority, message) for each check that failed, changed or cleared, as Ceph's
    ``HealthMonitor`` logs them, and "Cluster is now healthy" when the last cleared."""
    out: list[tuple[str, str]] = []
    for code, check in after.items():
        prio = "[ERR]" if check.severity == "HEALTH_ERR" else "[WRN]"
        old = before.get(code)
        if old is None:
            out.append((prio, f"Health check failed: {check.summary} ({code})"))
        elif old.summary != check.summary:
            out.append((prio, f"Health check update: {check.summary} ({code})"))
    for code, check in before.items():
        if code not in after:
            out.append(("[INF]", f"Health check cleared: {code} (was: {check.summary})"))
    if before and not after:
        out.append(("[INF]", "Cluster is now healthy"))
    return out


def json_line(entry: dict[str, Any]) -> str:
    """A `LogEntry.json` document as its line (what `ceph -w` prints)."""
    return (
        f"{entry['stamp']} {entry['name']} ({entry['rank']}) {entry['seq']} : "
        f"{entry['channel']} {entry['priority']} {entry['message']}"
    )


def lines(entries: Iterable[LogEntry]) -> str:
    """Entries as `ceph log last` prints them."""
    return "".join(e.line() + "\n" for e in entries)
