"""radospy.osd.map_wait: an op naming a newer map waits for it, the OSD asking the
monitors again now and then, and is answered EAGAIN after a bounded wait."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from radospy.osd.map_wait import (
    EAGAIN_BACKOFF,
    EAGAIN_BACKOFF_MAX,
    MapWaitPolicy,
    Step,
    decide,
    eagain_backoff,
)

POLICY = MapWaitPolicy(resubscribe_every=10.0, give_up_after=30.0)
times = st.floats(min_value=0, max_value=100, allow_nan=False)


@given(st.integers(0, 50), st.integers(0, 50), times, st.none() | times)
def test_ready_with_the_epoch_else_waits_then_gives_up(
    op: int, have: int, waited: float, since: float | None
) -> None:
    d = decide(op, have, waited, since, POLICY)
    if have >= op:
        assert d.step is Step.READY
    elif waited >= POLICY.give_up_after:
        assert d.step is Step.GIVE_UP
    else:
        assert d.step is Step.WAIT
        # Asks when it never did or did long enough ago, and never waits past the
        # next request or the end of the wait.
        assert d.ask == (since is None or since >= POLICY.resubscribe_every)
        assert 0 < d.wait <= POLICY.resubscribe_every
        assert waited + d.wait <= POLICY.give_up_after + 1e-9
        if not d.ask:
            assert since is not None and since + d.wait <= POLICY.resubscribe_every + 1e-9


def run(map_at: float | None) -> tuple[Step, float, list[float]]:
    """An op (epoch 5 on an OSD at 4) waiting as the shell does, its map coming at
    ``map_at`` (never: None): how it ends, when, and when the OSD asked for maps."""
    now, asked, asks = 0.0, None, []
    while True:
        have = 5 if map_at is not None and now >= map_at else 4
        since = None if asked is None else now - asked
        d = decide(5, have, now, since, POLICY)
        if d.step is not Step.WAIT:
            return d.step, now, asks
        if d.ask:
            asked = now
            asks.append(now)
        wake = now + d.wait
        now = map_at if map_at is not None and now < map_at < wake else wake


def test_a_map_that_never_comes_is_asked_for_every_interval_then_eagain() -> None:
    step, at, asks = run(None)
    assert step is Step.GIVE_UP and at == POLICY.give_up_after
    assert asks == [0.0, 10.0, 20.0]


def test_the_op_goes_on_when_its_map_comes() -> None:
    step, at, asks = run(12.5)
    assert step is Step.READY and at == 12.5
    assert asks == [0.0, 10.0]


def test_one_request_serves_the_ops_that_start_waiting_soon_after() -> None:
    d = decide(5, 4, 0.0, 3.0, POLICY)
    assert d.step is Step.WAIT and not d.ask and d.wait == 7.0


@given(st.integers(0, 100))
def test_the_client_backoff_doubles_up_to_its_cap(n: int) -> None:
    assert eagain_backoff(0) == EAGAIN_BACKOFF
    assert eagain_backoff(n) <= eagain_backoff(n + 1) <= EAGAIN_BACKOFF_MAX
    assert eagain_backoff(n + 1) in (2 * eagain_backoff(n), EAGAIN_BACKOFF_MAX)
