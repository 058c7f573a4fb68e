"""The monitors' quorum as the leader sees it, and the ways Ceph shows it: the
`mon: ...` line of `ceph -s`, the quorum keys of `status --format json`,
`quorum_status`, and the MON_DOWN health check.

Raft has no quorum list of its own: the leader counts as in quorum the voters it heard
from within an election timeout (a follower answers every heartbeat), which is what
Ceph's quorum means, the monitors taking part in the current leadership.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from radospy.mon.monmap import MonMap
from radospy.mon.osd_output import timespan_str


def election_epoch(term: int, settled: bool) -> int:
    """Ceph's election epoch from the Raft term: odd while electing, even once a leader
    is settled (``2*term``); it only grows, as the term does."""
    return 2 * term if settled else 2 * term - 1


@dataclass(frozen=True)
class QuorumView:
    """Who is in quorum right now, on the leader."""

    monmap: MonMap
    quorum: tuple[str, ...]
    """Names in quorum, in rank order."""
    leader: str
    election_epoch: int
    age: float
    """Seconds since the quorum last changed (a new leader, a monitor in or out)."""

    @property
    def out_of_quorum(self) -> list[str]:
        """Monitors of the monmap not in quorum, in rank order."""
        return [n for n in self.monmap.ranks if n not in self.quorum]

    def services_line(self) -> str:
        """`3 daemons, quorum a,b (age 14m), out of quorum: c` (Monitor::get_cluster_status)."""
        text = (
            f"{len(self.monmap.mons)} daemons, quorum {','.join(self.quorum)} "
            f"(age {timespan_str(self.age)})"
        )
        if self.out_of_quorum:
            text += f", out of quorum: {','.join(self.out_of_quorum)}"
        return text

    def status_json(self) -> dict[str, Any]:
        """The quorum keys of `ceph status --format json`."""
        return {
            "election_epoch": self.election_epoch,
            "quorum": [self.monmap.rank(n) for n in self.quorum],
            "quorum_names": list(self.quorum),
            "quorum_age": int(self.age),
            "monmap": {
                "epoch": self.monmap.epoch,
                "min_mon_release_name": self.monmap.release_name,
                "num_mons": len(self.monmap.mons),
            },
        }

    def quorum_status(self) -> dict[str, Any]:
        """`ceph quorum_status`."""
        return {
            "election_epoch": self.election_epoch,
            "quorum": [self.monmap.rank(n) for n in self.quorum],
            "quorum_names": list(self.quorum),
            "quorum_leader_name": self.leader,
            "quorum_age": int(self.age),
            "monmap": self.monmap.dump(),
        }

    def mon_down(self) -> tuple[str, list[str]] | None:
        """MON_DOWN's summary and detail lines, or None when every monitor is in quorum."""
        down = self.out_of_quorum
        if not down:
            return None
        summary = f"{len(down)}/{len(self.monmap.mons)} mons down, quorum {','.join(self.quorum)}"
        detail = [
            f"mon.{name} (rank {self.monmap.rank(name)}) addr "
            f"{self.monmap.mons[name].entity_str()} is down (out of quorum)"
            for name in down
        ]
        return summary, detail


class QuorumTracker:
    """Remembers since when the quorum has been what it is (for its age)."""

    def __init__(self) -> None:
        self._seen: tuple[int, tuple[str, ...]] | None = None
        self.since = 0.0

    def update(self, epoch: int, members: tuple[str, ...], elected: float, now: float) -> float:
        """Record the quorum of election ``epoch`` (won at ``elected``) seen at ``now``;
        the time since which it has been the same: the election, or the last time a
        monitor joined or left it."""
        if self._seen is None or self._seen[0] != epoch:
            self.since = elected
        elif self._seen[1] != members:
            self.since = now
        self._seen = (epoch, members)
        return self.since
