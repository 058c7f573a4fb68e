"""Read leases (radospy.osd.read_lease): the grant and renewal rules, the new primary's
wait, and a seeded simulation of one PG across interval changes with arbitrary message
delays and paused OSDs: no two OSDs consider themselves readable primaries at once."""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.osd.peering import PastInterval, PgState, pg_state_string
from radospy.osd.read_lease import (
    ReadLeases,
    lease_interval,
    prior_primaries,
    prior_readable_until_ub,
    renew_every,
)

L = lease_interval(20.0)


def test_lease_is_ratio_of_grace_and_renewed_four_times_per_lease() -> None:
    assert L == 16.0
    assert lease_interval(6.0, 0.5) == 3.0
    assert renew_every(L) == 4.0


def test_a_replica_grants_until_it_sees_an_interval_change_the_primary_has_not() -> None:
    r = ReadLeases(L)
    assert r.grant(0, peer_epoch=5, now=100.0)
    assert r.granted_ub == {0: 116.0}
    r.fence(7)
    assert not r.grant(0, peer_epoch=6, now=101.0)
    assert r.granted_ub == {0: 116.0}  # a refusal extends nothing
    assert r.grant(0, peer_epoch=7, now=102.0)
    assert r.spans(110.0) == {0: 8.0}
    assert r.spans(118.0) == {}


def test_a_refused_connection_voids_the_leases_granted_to_that_process() -> None:
    r = ReadLeases(L)
    r.grant(3, 1, 0.0)
    r.void(3)
    assert r.spans(1.0) == {}


def test_the_primary_reads_until_the_oldest_grant_of_its_acting_replicas_runs_out() -> None:
    p = ReadLeases(L)
    assert p.readable_until([]) == math.inf
    assert p.readable_until([1, 2]) == -math.inf
    p.acknowledged(1, 10.0)
    p.acknowledged(2, 12.0)
    p.acknowledged(1, 9.0)  # a late pong of an older ping changes nothing
    assert p.readable_until([1, 2]) == 26.0
    assert p.readable_until([2]) == 28.0


def iv(first: int, last: int, acting: tuple[int, ...], rw: bool = True) -> PastInterval:
    return PastInterval(first, last, acting, acting, acting[0], rw)


def test_prior_primaries_are_those_since_the_last_activation_that_may_have_served() -> None:
    ivs = [iv(1, 3, (0, 1)), iv(4, 5, (1, 2), rw=False), iv(6, 8, (2, 0)), iv(9, 9, (3, 0))]
    assert prior_primaries(ivs, 6, me=3) == {2}
    assert prior_primaries(ivs, 0, me=3) == {0, 2}
    assert prior_primaries(ivs, 6, me=2) == {3}


def test_the_new_primary_waits_out_the_latest_bound_reported_for_a_silent_old_primary() -> None:
    ivs = [iv(1, 4, (0, 1, 2))]
    answered = {1: {0: 3.0}, 2: {0: 5.0, 1: 9.0}}
    assert prior_readable_until_ub({0}, answered, ivs, 100.0, L) == 105.0
    # The old primary answered: it took the new map and stopped serving.
    assert prior_readable_until_ub({0}, {**answered, 0: {}}, ivs, 100.0, L) == -math.inf
    # Nobody who could have renewed its lease answered: a whole lease from now.
    assert prior_readable_until_ub({0}, {3: {}}, ivs, 100.0, L) == 116.0


def test_laggy_and_wait_print_last_as_ceph_does() -> None:
    state = PgState.ACTIVE | PgState.CLEAN | PgState.LAGGY
    assert pg_state_string(state) == "active+clean+laggy"
    assert pg_state_string(PgState.ACTIVE | PgState.WAIT) == "active+wait"
    assert int(PgState.LAGGY) == 1 << 33 and int(PgState.WAIT) == 1 << 34


# --- a seeded simulation ------------------------------------------------------------------

N = 4
LEASE = 4.0
MAX_DELAY = 15.0
QUERY_TIMEOUT = 2.0


@dataclass
class Osd:
    ident: int
    leases: ReadLeases
    epoch: int = 0
    paused_until: float = 0.0
    deferred: list[tuple[str, tuple]] = field(default_factory=list)
    active: int = 0
    """The interval (epoch) this OSD activated as primary, 0 if none."""
    wait_until: float = 0.0
    les: int = 0
    peering: int = 0
    answers: dict[int, tuple[dict[int, float], int]] = field(default_factory=dict)


@dataclass
class Sim:
    rng: random.Random
    maps: list[tuple[int, ...]] = field(default_factory=list)
    """maps[e - 1]: acting set of epoch e (primary first); each map is a new interval."""
    activated: set[int] = field(default_factory=set)
    maybe_rw: set[int] = field(default_factory=set)
    """Intervals whose primary got its up_thru recorded while the interval was the
    newest map (Ceph's maybe_went_rw): only those can have served."""
    published: int = 0
    now: float = 0.0
    events: list[tuple[float, int, str, tuple]] = field(default_factory=list)
    seq: itertools.count = field(default_factory=itertools.count)
    readable_checks: int = 0
    """Checks at which some OSD was a readable primary (the property is not vacuous)."""

    def __post_init__(self) -> None:
        self.osds = [Osd(i, ReadLeases(LEASE)) for i in range(N)]

    def at(self, when: float, kind: str, *args: object) -> None:
        heapq.heappush(self.events, (when, next(self.seq), kind, args))

    def delay(self) -> float:
        """Most messages are quick; some are very late (a slow or congested peer)."""
        if self.rng.random() < 0.1:
            return self.rng.uniform(0.0, MAX_DELAY)
        return self.rng.uniform(0.0, 0.5)

    def intervals(self) -> list[PastInterval]:
        return [
            PastInterval(e, e, acting, acting, acting[0], e in self.maybe_rw)
            for e, acting in enumerate(self.maps, 1)
        ]

    def readable(self, o: Osd) -> bool:
        if self.now < o.paused_until or not o.active or o.active != o.epoch:
            return False
        acting = self.maps[o.active - 1]
        until = o.leases.readable_until(r for r in acting if r != o.ident)
        return o.wait_until <= self.now < until

    def check(self) -> None:
        serving = [o.ident for o in self.osds if self.readable(o)]
        assert len(serving) <= 1, f"t={self.now:.3f}: {serving} all readable primaries"
        self.readable_checks += bool(serving)

    # Events an OSD handles only while running: deferred while it is paused.
    def deliver(self, o: Osd, kind: str, args: tuple) -> None:
        if self.now < o.paused_until:
            o.deferred.append((kind, args))
            return
        getattr(self, "on_" + kind)(o, *args)

    def on_ping(self, o: Osd, sender: int, stamp: float, epoch: int) -> None:
        granted = o.leases.grant(sender, epoch, self.now)
        self.at(self.now + self.delay(), "to", sender, "pong", (o.ident, stamp, granted))

    def on_pong(self, o: Osd, sender: int, stamp: float, granted: bool) -> None:
        if granted:
            o.leases.acknowledged(sender, stamp)

    def on_map(self, o: Osd, epoch: int) -> None:
        if epoch <= o.epoch:
            return
        o.epoch = epoch
        o.leases.fence(epoch)
        if self.maps[epoch - 1][0] == o.ident:
            self.start_peering(o)

    def on_query(self, o: Osd, sender: int, epoch: int) -> None:
        if o.epoch < epoch:  # answers once it has the query's map
            self.at(self.now + 0.1, "to", o.ident, "query", (sender, epoch))
            return
        spans = o.leases.spans(self.now)
        self.at(self.now + self.delay(), "to", sender, "answer", (o.ident, epoch, spans, o.les))

    def on_answer(self, o: Osd, sender: int, epoch: int, spans: dict, les: int) -> None:
        if o.peering == epoch and o.epoch == epoch:
            o.answers[sender] = (spans, les)

    def start_peering(self, o: Osd) -> None:
        o.peering = o.epoch
        o.answers = {}
        for r in range(N):
            if r != o.ident:
                self.at(self.now + self.delay(), "to", r, "query", (o.ident, o.epoch))
        self.at(self.now + QUERY_TIMEOUT, "to", o.ident, "activate", (o.epoch,))

    def on_activate(self, o: Osd, epoch: int) -> None:
        if o.epoch != epoch:
            return
        acting = self.maps[epoch - 1]
        answered = {r: spans for r, (spans, _) in o.answers.items()}
        answered[o.ident] = o.leases.spans(self.now)
        les = max([o.les, *(les for _, les in o.answers.values())])
        past = [i for i in self.intervals() if i.first < epoch]
        needed = [i for i in past if i.maybe_went_rw and i.last >= les]
        if any(r not in answered for r in acting) or any(
            not set(i.acting) & set(answered) for i in needed
        ):
            self.start_peering(o)  # blocked (a member silent, or down): try again
            return
        self.at(self.now + self.delay(), "up_thru", o.ident, epoch, answered, les, self.now)

    def on_up_thru_recorded(
        self, o: Osd, epoch: int, answered: dict, les: int, answered_at: float
    ) -> None:
        """The monitors recorded our up_thru (Ceph's WaitUpThru): activate."""
        if o.epoch != epoch:
            return
        past = [i for i in self.intervals() if i.first < epoch]
        acting = self.maps[epoch - 1]
        waited = prior_primaries(past, les, o.ident)
        o.wait_until = prior_readable_until_ub(waited, answered, past, answered_at, LEASE)
        o.active = epoch
        self.activated.add(epoch)
        for r in acting:
            self.osds[r].les = epoch
        self.at(o.wait_until, "check")

    def on_renew(self, o: Osd) -> None:
        for r in range(N):
            if r != o.ident:
                args = (o.ident, self.now, o.epoch)
                self.at(self.now + self.delay(), "to", r, "ping", args)
        self.at(self.now + LEASE / 4, "to", o.ident, "renew", ())

    def run(self, steps: int) -> None:
        rng = self.rng
        t = 0.0
        for _ in range(8):
            t += rng.uniform(0.5, 15.0)
            acting = tuple(rng.sample(range(N), rng.randint(1, 3)))
            self.maps.append(acting)
            self.at(t, "publish", len(self.maps))
        for o in self.osds:
            self.at(rng.uniform(0, 1), "to", o.ident, "renew", ())
            for _ in range(rng.randint(0, 3)):
                start = rng.uniform(0, t)
                self.at(start, "pause", o.ident, rng.uniform(0.5, 20.0))
        for _ in range(steps):
            if not self.events:
                break
            self.now, _, kind, args = heapq.heappop(self.events)
            if kind == "publish":
                self.published = args[0]
                for o in self.osds:
                    self.at(self.now + self.delay(), "to", o.ident, "map", (args[0],))
            elif kind == "pause":
                o = self.osds[args[0]]
                o.paused_until = max(o.paused_until, self.now + args[1])
                self.at(o.paused_until, "resume", o.ident)
            elif kind == "resume":
                o = self.osds[args[0]]
                if self.now >= o.paused_until:
                    queued, o.deferred = o.deferred, []
                    rng.shuffle(queued)
                    for i, (k, a) in enumerate(queued):
                        self.at(self.now + i * 1e-6, "to", o.ident, k, a)
            elif kind == "up_thru":
                # The monitors record it only while the interval is the newest map.
                osd, epoch = args[0], args[1]
                if self.published == epoch:
                    self.maybe_rw.add(epoch)
                    reply = (epoch, *args[2:])
                    self.at(self.now + self.delay(), "to", osd, "up_thru_recorded", reply)
            elif kind == "to":
                self.deliver(self.osds[args[0]], args[1], args[2])
            self.check()


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_no_two_readable_primaries_at_once_under_delays_and_pauses(seed: int) -> None:
    Sim(random.Random(seed)).run(20000)


def test_the_simulation_does_activate_and_serve() -> None:
    """The property above is not vacuous: primaries activate and serve reads."""
    activated = readable = 0
    for seed in range(20):
        sim = Sim(random.Random(seed))
        sim.run(20000)
        activated += len(sim.activated)
        readable += sim.readable_checks
    assert activated > 20 and readable > 1000
