"""Which peers an OSD pings, when, and what it tells the monitors about them: the pure
core of Ceph's ``OSD::heartbeat`` / ``heartbeat_check`` / ``send_failures``.

No I/O and no clock: the shell passes ``now`` (seconds) to every call and carries out
what comes back (pings to send, failure reports and cancellations for the monitors).

* Peers (:func:`heartbeat_peers`): every up OSD this one shares a PG with, its up
  neighbours by id on either side, and more up OSDs after it by id until there are
  ``osd_heartbeat_min_peers`` (Ceph's ``maybe_update_heartbeat_peers``), so a lightly
  loaded OSD is still watched by a few others.
* Schedule (:meth:`HeartbeatTracker.next_delay`): Ceph waits ``0.5 + U{0,.1,…,.9} ×
  osd_heartbeat_interval`` seconds between rounds, so OSDs do not ping in lockstep.
* Health: a peer is unhealthy when its oldest unanswered ping was sent more than
  ``osd_heartbeat_grace`` seconds ago. A reply to a ping answers it and every older
  one. Failed since: the last reply, or the first ping if it never answered.
* Reports (:meth:`HeartbeatTracker.reports`): an unhealthy peer is reported with
  ``failed_for = now - failed_since``, and again every ``osd_mon_report_interval``
  while it stays unhealthy (a new leader monitor has no memory of earlier reports).
  A peer that answers again after being reported gets a cancellation ("still alive").
  A refused connection is reported at once as immediate (``osd_fast_fail_on_connection_refused``).
* Incarnations: a peer is known with its heartbeat address. One that restarted and
  booted again from a new address before anyone marked it down is a new peer: its
  grace starts afresh and nothing pending about the old process carries over (Ceph
  removes a heartbeat peer whose address changed and adds it anew); a refused
  connection to an address it no longer has says nothing about it.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from radospy.osdmap.osdmap import OSDMap

MAX_UNANSWERED = 64
"""Unanswered pings remembered per peer; the oldest is always kept (it decides)."""


@dataclass(frozen=True)
class HeartbeatConfig:
    """The OSD-side failure-detection options, with Ceph's defaults."""

    interval: float = 6.0
    """``osd_heartbeat_interval``: mean seconds between pings to a peer."""
    grace: float = 20.0
    """``osd_heartbeat_grace``: seconds an unanswered ping may wait."""
    min_peers: int = 10
    """``osd_heartbeat_min_peers``: peers pinged at least, when that many are up."""
    report_interval: float = 5.0
    """``osd_mon_report_interval``: seconds between repeats of a pending report."""
    fast_fail_on_refused: bool = True
    """``osd_fast_fail_on_connection_refused``: report a refused peer at once."""


def heartbeat_peers(osdmap: OSDMap, whoami: int, pg_peers: set[int], min_peers: int) -> set[int]:
    """The OSDs ``whoami`` should ping under ``osdmap``: the up ones among ``pg_peers``
    (members of the PGs it holds), its nearest up OSD by id on each side, and further up
    OSDs after it (wrapping around) until ``min_peers`` are chosen."""
    up = [o for o in range(osdmap.max_osd) if o != whoami and osdmap.is_up(o)]
    peers = {o for o in pg_peers if o != whoami and osdmap.is_up(o)}
    if not up:
        return peers
    after = [o for o in up if o > whoami] + [o for o in up if o < whoami]
    peers.add(after[0])
    peers.add(after[-1])
    for osd in after:
        if len(peers) >= min_peers:
            break
        peers.add(osd)
    return peers


@dataclass
class PeerState:
    """What the OSD knows about one heartbeat peer (Ceph's ``HeartbeatInfo``)."""

    first_tx: float
    """When this peer was added; failed-since for a peer that never replied."""
    incarnation: Hashable = None
    """What identifies the peer's process (its heartbeat address)."""
    last_rx: float | None = None
    """When it last replied."""
    unanswered: list[float] = field(default_factory=list)
    """Stamps of the pings sent and not yet answered, oldest first."""
    reported_at: float | None = None
    """When a failure report for it was last sent; None when none is pending."""

    def unhealthy(self, now: float, grace: float) -> bool:
        """Whether its oldest unanswered ping is older than ``grace``."""
        return bool(self.unanswered) and now - self.unanswered[0] > grace

    def failed_since(self) -> float:
        return self.last_rx if self.last_rx is not None else self.first_tx


@dataclass(frozen=True)
class FailureReport:
    """Tell the monitors ``target`` failed ``failed_for`` seconds ago (or is alive
    again, when ``alive``); ``immediate`` for a refused connection."""

    target: int
    failed_for: float = 0.0
    alive: bool = False
    immediate: bool = False


class HeartbeatTracker:
    """One OSD's heartbeat bookkeeping; every method takes the time from its caller."""

    def __init__(self, config: HeartbeatConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self.peers: dict[int, PeerState] = {}
        self._rng = rng if rng is not None else random.Random()
        self._outbox: list[FailureReport] = []

    def next_delay(self) -> float:
        """Seconds until the next round of pings, with Ceph's jitter."""
        return 0.5 + self._rng.randrange(10) / 10.0 * self.config.interval

    def set_peers(self, peers: Mapping[int, Hashable], now: float) -> None:
        """Follow a new peer set (peer -> its incarnation): new peers, and peers with a
        new incarnation, start their grace now; peers dropped (down in the map, or no
        longer sharing PGs) are forgotten with their pending reports, as the monitors
        need to hear nothing more about them."""
        for osd in list(self.peers):
            if osd not in peers:
                del self.peers[osd]
        for osd, incarnation in peers.items():
            state = self.peers.get(osd)
            if state is None or state.incarnation != incarnation:
                self.peers[osd] = PeerState(first_tx=now, incarnation=incarnation)

    def ping_round(self, now: float) -> list[int]:
        """Record a ping sent now to every peer; the peers to ping."""
        for state in self.peers.values():
            state.unanswered.append(now)
            if len(state.unanswered) > MAX_UNANSWERED:
                del state.unanswered[1]
        return sorted(self.peers)

    def pong(self, peer: int, stamp: float, now: float) -> None:
        """``peer`` answered the ping sent at ``stamp``: that ping and every older one
        are answered. A peer with a pending report that is healthy again gets a
        cancellation in the next :meth:`reports`."""
        state = self.peers.get(peer)
        if state is None:
            return
        state.unanswered = [s for s in state.unanswered if s > stamp]
        state.last_rx = now
        if state.reported_at is not None and not state.unhealthy(now, self.config.grace):
            state.reported_at = None
            self._outbox.append(FailureReport(peer, alive=True))

    def refused(self, peer: int, now: float, incarnation: Hashable = None) -> None:
        """A connection to ``peer`` (at ``incarnation``) was refused: nothing listens
        there any more. Ignored when the peer has a new incarnation since."""
        state = self.peers.get(peer)
        if state is None or not self.config.fast_fail_on_refused:
            return
        if state.incarnation != incarnation:
            return
        if state.reported_at is None or now - state.reported_at >= self.config.report_interval:
            state.reported_at = now
            failed_for = max(0.0, now - state.failed_since())
            self._outbox.append(FailureReport(peer, failed_for, immediate=True))

    def unhealthy(self, now: float) -> list[int]:
        """The peers whose oldest unanswered ping is past the grace."""
        return sorted(o for o, s in self.peers.items() if s.unhealthy(now, self.config.grace))

    def reports(self, now: float) -> list[FailureReport]:
        """What to send the monitors now: cancellations queued by replies, then a report
        for every unhealthy peer not reported within ``report_interval``."""
        out, self._outbox = self._outbox, []
        for osd in self.unhealthy(now):
            state = self.peers[osd]
            if state.reported_at is not None and (
                now - state.reported_at < self.config.report_interval
            ):
                continue
            state.reported_at = now
            out.append(FailureReport(osd, max(0.0, now - state.failed_since())))
        return out
