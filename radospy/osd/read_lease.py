"""Read leases: a primary serves reads only while its acting replicas vouch that no
other OSD can have become the PG's primary (Ceph's doc/dev/osd_internals/
stale_read.rst). Pure: no I/O, every call takes ``now`` (a monotonic clock reading).

Why: a primary paused long enough to be marked down (a new primary then acknowledges
writes) must not, once resumed and before it applies the map that ended its interval,
answer reads from clients whose map still names it.

One lease per OSD pair, carried by heartbeats (Ceph sends ``MOSDPGLease`` per PG; a
per-OSD lease over every shared PG is equivalent here because a replica refuses to
renew as soon as *any* PG it holds changed interval in a map the primary has not seen
— it may refuse more often than Ceph, never less):

* The primary stamps each ``Ping`` with its clock and its map epoch. A replica grants
  the lease (``Pong.lease``) unless it has taken a map, newer than the ping's epoch,
  in which an interval of a PG it holds changed (:meth:`ReadLeases.grant`); granting,
  it records ``readable_until_ub`` = its own now + ``interval`` for that primary.
* The primary's ``readable_until`` for a PG is the minimum, over the PG's acting
  replicas, of (send stamp of the newest ping that replica granted + ``interval``)
  (:meth:`ReadLeases.readable_until`). The send stamp precedes the grant, so every
  replica's upper bound (taken at receipt, in its own clock) is later than the
  primary's lease end in real time, whatever the message delays or pauses: only the
  clocks' rates have to agree, not their readings.
* A new primary waits out the leases the previous intervals' primaries may still hold
  (state ``wait``, :func:`prior_readable_until_ub`): the peers that answer its peering
  report, as spans from their own now, the upper bounds of the leases they granted;
  the new primary adds its receipt time (Ceph's "upper bound" arithmetic for a value
  crossing clocks). A previous primary that answered the peering itself has taken the
  new map and stopped serving, so it needs no waiting out.
* A primary whose lease ran out (its replicas moved on, or are slow to answer) is
  ``laggy``: reads wait until it is renewed or the interval changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from radospy.osd.peering import PastInterval

DEFAULT_READ_LEASE_RATIO = 0.8
"""``osd_pool_default_read_lease_ratio``: the lease is this times the heartbeat grace
(so it has run out by the time a silent primary is marked down)."""


def lease_interval(grace: float, ratio: float = DEFAULT_READ_LEASE_RATIO) -> float:
    """Seconds a granted lease lasts: ``ratio`` × ``osd_heartbeat_grace``."""
    return ratio * grace


def renew_every(interval: float) -> float:
    """Seconds between lease renewals: a quarter of the lease, so that one or two lost
    or late heartbeats do not let a healthy primary's lease run out."""
    return interval / 4


@dataclass
class ReadLeases:
    """One OSD's read leases: those it holds from its replicas (as a primary) and
    those it granted (as a replica)."""

    interval: float
    """Seconds a grant lasts (``read_lease_interval``)."""
    acked: dict[int, float] = field(default_factory=dict)
    """Primary side: peer -> send stamp (our clock) of the newest ping it granted."""
    granted_ub: dict[int, float] = field(default_factory=dict)
    """Replica side: peer -> upper bound (our clock) of the lease we granted it."""
    fence_epoch: int = 0
    """Replica side: the newest map epoch in which an interval of a PG held here
    changed; pings sent under an older map are not granted."""

    # --- replica side -----------------------------------------------------------------

    def fence(self, epoch: int) -> None:
        """A map at ``epoch`` changed an interval of a PG held here (or this OSD cannot
        tell, having skipped maps or just started): grant nothing sent before it."""
        self.fence_epoch = max(self.fence_epoch, epoch)

    def grant(self, peer: int, peer_epoch: int, now: float) -> bool:
        """Whether to grant ``peer``'s ping, sent under its map ``peer_epoch``; a grant
        is recorded with its upper bound."""
        if peer_epoch < self.fence_epoch:
            return False
        self.granted_ub[peer] = max(self.granted_ub.get(peer, -math.inf), now + self.interval)
        return True

    def void(self, peer: int) -> None:
        """``peer``'s process is gone (its heartbeat port refuses connections; a paused
        process still accepts them): the leases granted to it bind no one."""
        self.granted_ub.pop(peer, None)

    def spans(self, now: float) -> dict[int, float]:
        """The leases granted that may still run: peer -> seconds left, at most (the
        form they cross to another OSD in, whose clock reads differently)."""
        return {p: ub - now for p, ub in self.granted_ub.items() if ub > now}

    # --- primary side -----------------------------------------------------------------

    def acknowledged(self, peer: int, stamp: float) -> None:
        """``peer`` granted the ping we sent at ``stamp``."""
        if stamp > self.acked.get(peer, -math.inf):
            self.acked[peer] = stamp

    def readable_until(self, replicas: Iterable[int]) -> float:
        """Until when (our clock) a primary whose acting replicas are ``replicas`` may
        serve reads; infinite with no replica (no other OSD holds the PG to take over
        without this one: peering needs it)."""
        until = math.inf
        for r in replicas:
            until = min(until, self.acked.get(r, -math.inf) + self.interval)
        return until


def prior_primaries(
    intervals: Iterable[PastInterval], last_epoch_started: int, me: int
) -> set[int]:
    """The primaries of the intervals since the PG last went active (that interval
    included) that may have served: the ones whose leases a new primary ``me`` waits
    out. Earlier primaries' leases were waited out by the one that activated then."""
    return {
        iv.primary
        for iv in intervals
        if iv.maybe_went_rw and iv.last >= last_epoch_started and iv.primary not in (me, -1)
    }


def prior_readable_until_ub(
    waited: set[int],
    answered: Mapping[int, Mapping[int, float]],
    intervals: Iterable[PastInterval],
    now: float,
    interval: float,
) -> float:
    """Until when (our clock, ``now`` being when the answers were in) a new primary
    waits before it serves: the latest upper bound any answering peer reports for a
    lease it granted to a primary in ``waited`` that did not answer itself.

    ``answered``: peer -> the spans it reported (:meth:`ReadLeases.spans`), this OSD's
    own included. A waited primary none of whose past replicas answered (so no one
    could report its lease) is waited out for a whole ``interval`` from ``now``."""
    until = -math.inf
    ivs = list(intervals)
    for w in waited - set(answered):
        for spans in answered.values():
            until = max(until, now + spans.get(w, 0.0))
        vouched = any(o in answered for iv in ivs if iv.primary == w for o in iv.acting if o != w)
        if not vouched:
            until = max(until, now + interval)
    return until
