"""What a leader knows about each follower's log (etcd's ``tracker.Progress``)."""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field


class ProgressState(enum.Enum):
    """How the leader is currently feeding one follower."""

    PROBE = "probe"
    """Next index unknown: one MsgApp per heartbeat until the follower accepts one."""
    REPLICATE = "replicate"
    """Optimistic pipelining: up to ``max_inflight`` MsgApps in flight."""
    SNAPSHOT = "snapshot"
    """A MsgSnap is in flight; nothing else is sent until it lands or times out."""


@dataclass
class Progress:
    """One follower's replication state as its leader sees it."""

    match: int
    next: int
    state: ProgressState = ProgressState.PROBE
    probe_sent: bool = False
    pending_snapshot: int = 0
    snapshot_ticks: int = 0
    recent_active: bool = False
    sent_commit: int = 0
    """The highest commit index sent to it (in an append or a heartbeat)."""
    inflight: deque[int] = field(default_factory=deque)

    def is_paused(self, max_inflight: int) -> bool:
        """Whether the leader must hold further MsgApps to this follower."""
        if self.state is ProgressState.PROBE:
            return self.probe_sent
        if self.state is ProgressState.REPLICATE:
            return len(self.inflight) >= max_inflight
        return True

    def become_probe(self) -> None:
        """Fall back to probing, e.g. after a rejection or a lost snapshot."""
        if self.state is ProgressState.SNAPSHOT:
            self.next = max(self.match, self.pending_snapshot) + 1
        else:
            self.next = self.match + 1
        self._enter(ProgressState.PROBE)

    def become_replicate(self) -> None:
        """Start pipelining right after the matched prefix."""
        self.next = self.match + 1
        self._enter(ProgressState.REPLICATE)

    def become_snapshot(self, index: int) -> None:
        """Record that a snapshot at ``index`` is on its way."""
        self._enter(ProgressState.SNAPSHOT)
        self.pending_snapshot = index

    def _enter(self, state: ProgressState) -> None:
        self.state = state
        self.probe_sent = False
        self.pending_snapshot = 0
        self.snapshot_ticks = 0
        self.inflight.clear()

    def maybe_update(self, index: int) -> bool:
        """Take an acceptance up to ``index``; whether it moved ``match`` forward."""
        self.next = max(self.next, index + 1)
        if index > self.match:
            self.match = index
            self.probe_sent = False
            return True
        return False

    def maybe_decr_to(self, rejected: int, hint: int) -> bool:
        """Take a rejection of ``rejected``; False when it is stale (already superseded)."""
        if self.state is ProgressState.REPLICATE:
            if rejected <= self.match:
                return False
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False
        self.next = max(min(rejected, hint + 1), self.match + 1)
        self.probe_sent = False
        return True

    def sent_entries(self, last: int | None) -> None:
        """Account for a MsgApp just sent whose last entry is ``last`` (None: empty)."""
        if self.state is ProgressState.REPLICATE:
            if last is not None:
                self.next = last + 1
                self.inflight.append(last)
        elif self.state is ProgressState.PROBE:
            self.probe_sent = True

    def free_to(self, index: int) -> None:
        """Release in-flight slots for MsgApps acknowledged up to ``index``."""
        while self.inflight and self.inflight[0] <= index:
            self.inflight.popleft()
