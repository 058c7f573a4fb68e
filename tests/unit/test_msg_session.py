"""Session core: acks, bounds, dedup, resume and reset; a model-checked lossy link."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from radospy.msg.session import Receipt, Session, SessionError


def session(max_messages: int = 100, max_bytes: int = 1 << 20) -> Session:
    return Session(cookie=1, max_messages=max_messages, max_bytes=max_bytes)


def test_enqueue_numbers_and_acks_release() -> None:
    s = session()
    outs = [s.enqueue(32, 0, 0, b"x" * 10) for _ in range(5)]
    assert [o.seq for o in outs] == [1, 2, 3, 4, 5]
    assert s.queued_bytes == 50
    assert s.handle_ack(3) == 3
    assert [o.seq for o in s.unacked] == [4, 5]
    assert s.queued_bytes == 20
    assert s.handle_ack(3) == 0


def test_ack_beyond_what_was_sent_is_an_error() -> None:
    s = session()
    s.enqueue(32, 0, 0, b"")
    with pytest.raises(SessionError):
        s.handle_ack(2)


def test_bounds_by_messages_and_bytes() -> None:
    by_count = session(max_messages=2)
    by_count.enqueue(32, 0, 0, b"")
    assert by_count.has_room()
    by_count.enqueue(32, 0, 0, b"")
    assert not by_count.has_room()
    by_count.handle_ack(1)
    assert by_count.has_room()

    by_bytes = session(max_bytes=100)
    by_bytes.enqueue(32, 0, 0, b"x" * 1000)  # an oversized one passes an empty queue
    assert not by_bytes.has_room()
    by_bytes.handle_ack(1)
    assert by_bytes.has_room()


def test_receive_dedups_and_refuses_gaps() -> None:
    s = session()
    assert s.receive(1) is Receipt.DELIVER
    assert s.receive(1) is Receipt.DUPLICATE
    assert s.receive(2) is Receipt.DELIVER
    with pytest.raises(SessionError, match="expected seq 3, got 5"):
        s.receive(5)


def test_ack_bookkeeping() -> None:
    s = session()
    assert not s.ack_due()
    s.receive(1)
    assert s.ack_due()
    assert s.ack_to_send() == 1
    assert not s.ack_due()


def test_resume_resends_what_the_peer_lacks() -> None:
    s = session()
    for _ in range(4):
        s.enqueue(32, 0, 0, b"m")
    s.receive(1)
    assert [o.seq for o in s.resume(peer_in_seq=2)] == [3, 4]
    assert not s.ack_due()  # the handshake told the peer our in_seq


def test_reset_renumbers_the_unacked() -> None:
    s = session()
    for tid in range(1, 5):
        s.enqueue(32, 0, tid, b"m")
    s.handle_ack(2)
    s.receive(1)
    resent = s.reset()
    assert [(o.seq, o.tid) for o in resent] == [(1, 3), (2, 4)]
    assert (s.out_seq, s.in_seq, s.ack_sent) == (2, 0, 0)
    assert s.enqueue(32, 0, 5, b"m").seq == 3


@dataclass(frozen=True)
class WireFrame:
    seq: int
    ack: int
    payload: int


class Side:
    """One end: its session, what it sent (payload ids) and what it delivered."""

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.session = Session(cookie=7, max_messages=limit, max_bytes=1 << 30)
        self.sent: list[int] = []
        self.delivered: list[int] = []
        self.seen: list[WireFrame] = []


class LossyLink(RuleBasedStateMachine):
    """Two sessions over a TCP-like link that breaks, reconnects and replays.

    Within one connection frames arrive in order; a break loses everything in flight.
    The property: each side delivers exactly the other's messages, once each, in order,
    and, once the link heals, all of them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.a = Side("a", limit=8)
        self.b = Side("b", limit=8)
        self.flight: dict[str, deque[WireFrame]] = {"a": deque(), "b": deque()}
        self.connected = True
        self.counter = 0

    def peer(self, side: Side) -> Side:
        return self.b if side is self.a else self.a

    def side(self, name: str) -> Side:
        return self.a if name == "a" else self.b

    def deliver_one(self, receiver: Side, frame: WireFrame) -> None:
        receiver.session.handle_ack(frame.ack)
        if frame.seq == 0:
            return
        if receiver.session.receive(frame.seq) is Receipt.DELIVER:
            receiver.delivered.append(frame.payload)
            receiver.seen.append(frame)

    @rule(name=st.sampled_from(["a", "b"]))
    def send(self, name: str) -> None:
        side = self.side(name)
        if not side.session.has_room():
            return
        self.counter += 1
        out = side.session.enqueue(32, 0, self.counter, b"")
        side.sent.append(self.counter)
        if self.connected:
            self.flight[name].append(WireFrame(out.seq, side.session.ack_to_send(), out.tid))

    @precondition(lambda self: self.connected)
    @rule(name=st.sampled_from(["a", "b"]), count=st.integers(1, 5))
    def deliver(self, name: str, count: int) -> None:
        queue = self.flight[name]
        receiver = self.peer(self.side(name))
        for _ in range(min(count, len(queue))):
            self.deliver_one(receiver, queue.popleft())

    @precondition(lambda self: self.connected)
    @rule(name=st.sampled_from(["a", "b"]))
    def bare_ack(self, name: str) -> None:
        side = self.side(name)
        if side.session.ack_due():
            self.flight[name].append(WireFrame(0, side.session.ack_to_send(), 0))

    @precondition(lambda self: self.connected)
    @rule()
    def disconnect(self) -> None:
        self.connected = False
        for queue in self.flight.values():
            queue.clear()

    @precondition(lambda self: not self.connected)
    @rule()
    def reconnect(self) -> None:
        self.connected = True
        a_in, b_in = self.a.session.in_seq, self.b.session.in_seq
        for side, peer_in in ((self.a, b_in), (self.b, a_in)):
            for out in side.session.resume(peer_in):
                ack = side.session.ack_to_send()
                self.flight[side.name].append(WireFrame(out.seq, ack, out.tid))

    @precondition(lambda self: self.connected)
    @rule(name=st.sampled_from(["a", "b"]), pick=st.integers(0, 10**6))
    def replay(self, name: str, pick: int) -> None:
        """Re-inject a frame the receiver already delivered: it must be dropped."""
        receiver = self.peer(self.side(name))
        if receiver.seen:
            old = receiver.seen[pick % len(receiver.seen)]
            before = list(receiver.delivered)
            self.deliver_one(receiver, old)
            assert receiver.delivered == before

    @invariant()
    def delivered_in_order_exactly_once(self) -> None:
        for side in (self.a, self.b):
            peer = self.peer(side)
            assert side.delivered == peer.sent[: len(side.delivered)]

    @invariant()
    def queues_stay_bounded(self) -> None:
        for side in (self.a, self.b):
            assert len(side.session.unacked) <= side.session.max_messages

    def teardown(self) -> None:
        if not self.connected:
            self.reconnect()
        for _ in range(2):
            for name in ("a", "b"):
                self.bare_ack(name)
                self.deliver(name, 10**6)
        assert self.a.delivered == self.b.sent
        assert self.b.delivered == self.a.sent
        assert not self.a.session.unacked
        assert not self.b.session.unacked


LossyLink.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
TestLossyLink = LossyLink.TestCase
