"""The OSD heartbeat core with a fake clock: peers, schedule, grace, reports, cancels."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.osd.heartbeat import (
    FailureReport,
    HeartbeatConfig,
    HeartbeatTracker,
    heartbeat_peers,
)
from radospy.osdmap.osdmap import OSDMap

from .mon_helpers import with_osds

CONFIG = HeartbeatConfig(interval=6.0, grace=20.0, min_peers=10, report_interval=5.0)


def _map(n: int, down: tuple[int, ...] = ()) -> OSDMap:
    mon = with_osds(n)
    for osd in down:
        mon.ok(f"osd down {osd}")
    return mon.state.osdmap


def test_peers_are_pg_peers_plus_neighbours_up_to_min_peers() -> None:
    osdmap = _map(30, down=(4,))
    peers = heartbeat_peers(osdmap, 5, {5, 6, 20, 4}, min_peers=10)
    # 4 is down: never pinged. 6 and 20 share PGs; 3 and 6 are the id neighbours;
    # then OSDs after 5 until ten peers.
    assert peers == {3, 6, 7, 8, 9, 10, 11, 12, 13, 20}
    assert heartbeat_peers(osdmap, 5, {20}, min_peers=1) == {3, 6, 20}
    assert heartbeat_peers(_map(3), 2, set(), min_peers=10) == {0, 1}
    assert heartbeat_peers(_map(1), 0, set(), min_peers=10) == set()


@given(st.integers(1, 40), st.integers(0, 39), st.sets(st.integers(0, 39)), st.integers(1, 12))
@settings(max_examples=60, deadline=None)
def test_peer_choice_properties(n: int, me: int, pg_peers: set[int], min_peers: int) -> None:
    osdmap = _map(n, down=tuple(o for o in range(n) if o % 7 == 3 and o != me))
    me %= n
    peers = heartbeat_peers(osdmap, me, pg_peers, min_peers)
    up_others = {o for o in range(n) if o != me and osdmap.is_up(o)}
    assert me not in peers and peers <= up_others
    assert (pg_peers & up_others) <= peers
    assert len(peers) >= min(min_peers, len(up_others))


def test_jitter_stays_within_cephs_range() -> None:
    tracker = HeartbeatTracker(CONFIG, random.Random(7))
    delays = [tracker.next_delay() for _ in range(200)]
    assert min(delays) >= 0.5 and max(delays) <= 0.5 + 0.9 * CONFIG.interval
    assert len(set(delays)) > 1


def test_silent_peer_is_reported_after_grace_and_again_every_report_interval() -> None:
    tracker = HeartbeatTracker(CONFIG)
    tracker.set_peers(dict.fromkeys({1, 2}), now=100.0)
    for t in (100.0, 106.0, 112.0, 118.0):
        tracker.ping_round(t)
        tracker.pong(2, t, t + 0.1)
        assert tracker.reports(t + 0.1) == []
    tracker.ping_round(124.0)
    tracker.pong(2, 124.0, 124.1)
    # osd.1's first ping (t=100) is more than 20 s old: reported, failed since its addition.
    assert tracker.reports(120.5) == [FailureReport(1, 20.5)]
    assert tracker.reports(124.0) == []
    assert tracker.reports(125.5) == [FailureReport(1, 25.5)]
    assert tracker.unhealthy(125.5) == [1]


def test_reply_cancels_a_pending_report_once() -> None:
    tracker = HeartbeatTracker(CONFIG)
    tracker.set_peers(dict.fromkeys({1}), now=0.0)
    tracker.ping_round(0.0)
    tracker.pong(1, 0.0, 1.0)
    tracker.ping_round(6.0)
    tracker.ping_round(12.0)
    tracker.ping_round(30.0)
    assert tracker.reports(30.0) == [FailureReport(1, 29.0)]
    tracker.pong(1, 6.0, 33.0)  # an old ping answered: the one sent at 12 is still overdue
    assert tracker.reports(33.0) == []
    tracker.pong(1, 30.0, 34.0)
    assert tracker.reports(34.0) == [FailureReport(1, alive=True)]
    assert tracker.reports(40.0) == []


def test_refused_connection_is_reported_immediately() -> None:
    tracker = HeartbeatTracker(CONFIG)
    tracker.set_peers(dict.fromkeys({3}), now=10.0)
    tracker.ping_round(10.0)
    tracker.pong(3, 10.0, 10.5)
    tracker.refused(3, 11.0)
    assert tracker.reports(11.0) == [FailureReport(3, 0.5, immediate=True)]
    tracker.refused(3, 12.0)
    assert tracker.reports(12.0) == []
    slow = HeartbeatTracker(HeartbeatConfig(fast_fail_on_refused=False))
    slow.set_peers(dict.fromkeys({3}), now=0.0)
    slow.refused(3, 1.0)
    assert slow.reports(1.0) == []


def test_dropped_peer_is_forgotten_with_its_report() -> None:
    tracker = HeartbeatTracker(CONFIG)
    tracker.set_peers(dict.fromkeys({1, 2}), now=0.0)
    tracker.ping_round(0.0)
    assert [r.target for r in tracker.reports(21.0)] == [1, 2]
    tracker.set_peers(dict.fromkeys({2}), now=22.0)
    tracker.pong(1, 0.0, 22.0)
    assert tracker.reports(30.0) == [FailureReport(2, 30.0)]
    tracker.set_peers(dict.fromkeys({1, 2}), now=31.0)
    assert tracker.peers[1].first_tx == 31.0 and not tracker.peers[1].unanswered


def test_a_peer_back_from_a_new_address_starts_afresh() -> None:
    """osd.1 restarted within the grace and booted from a new address: the pings its old
    process never answered, and a refused dial to the old address, report nothing."""
    old, new = ("127.0.0.1", 7001), ("127.0.0.1", 7101)
    tracker = HeartbeatTracker(CONFIG)
    tracker.set_peers({1: old, 2: ("127.0.0.1", 7002)}, now=0.0)
    for t in (0.0, 6.0, 12.0):
        tracker.ping_round(t)
        tracker.pong(2, t, t + 0.1)
    tracker.set_peers({1: new, 2: ("127.0.0.1", 7002)}, now=15.0)
    tracker.refused(1, 15.5, old)  # a dial started before the new map
    tracker.ping_round(18.0)
    tracker.pong(1, 18.0, 18.2)
    tracker.pong(2, 18.0, 18.2)
    assert tracker.reports(25.0) == []
    assert tracker.peers[1].first_tx == 15.0 and tracker.unhealthy(25.0) == []
    # The same address again keeps the peer's history: its silence still counts.
    tracker.ping_round(30.0)
    tracker.set_peers({1: new, 2: ("127.0.0.1", 7002)}, now=31.0)
    tracker.refused(1, 31.0, new)
    assert tracker.reports(31.0) == [FailureReport(1, 12.8, immediate=True)]


@given(st.lists(st.tuples(st.sampled_from(["ping", "pong", "tick"]), st.floats(0.01, 8.0))))
@settings(max_examples=100, deadline=None)
def test_reports_follow_the_grace(events: list[tuple[str, float]]) -> None:
    """A report names a peer only once its oldest unanswered ping is past the grace, and
    a cancellation only follows a report."""
    config = HeartbeatConfig(interval=2.0, grace=5.0, report_interval=3.0)
    tracker = HeartbeatTracker(config)
    tracker.set_peers(dict.fromkeys({1}), now=0.0)
    now, reported = 0.0, False
    sent: list[float] = []
    for kind, step in events:
        now += step
        if kind == "ping":
            assert tracker.ping_round(now) == [1]
            sent.append(now)
        elif kind == "pong" and sent:
            tracker.pong(1, sent[0], now)
            sent = [s for s in sent if s > sent[0]]
        for report in tracker.reports(now):
            if report.alive:
                assert reported
                reported = False
            else:
                assert sent and now - sent[0] > config.grace
                assert 0 <= report.failed_for <= now
                reported = True
