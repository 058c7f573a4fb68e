"""Reclamation of freed block units: never handed back while a read that pinned before
they were freed is in progress, always handed back once no such read is."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from radospy.osd.objectstore.reclaim import Reclaimer

_STEP = st.one_of(
    st.tuples(st.just("pin"), st.just(0)),
    st.tuples(st.just("unpin"), st.integers(0, 20)),
    st.tuples(st.just("retire"), st.integers(0, 3)),
    st.tuples(st.just("reuse"), st.just(0)),
)


@given(steps=st.lists(_STEP, max_size=80))
def test_units_come_back_only_past_every_older_pin(steps):
    reclaim = Reclaimer()
    pins: list[tuple[int, set[int]]] = []
    """Reads in progress: token, and the units retired since they pinned (which
    their lookup may have seen)."""
    retired: set[int] = set()
    back: set[int] = set()
    next_unit = 0
    for kind, arg in steps:
        if kind == "pin":
            pins.append((reclaim.pin(), set()))
        elif kind == "unpin" and pins:
            token, _ = pins.pop(arg % len(pins))
            reclaim.unpin(token)
        elif kind == "retire":
            units = list(range(next_unit, next_unit + arg))
            next_unit += arg
            reclaim.retire(units)
            retired |= set(units)
            for _, seen in pins:
                seen |= set(units)
        elif kind == "reuse":
            now = set(reclaim.reusable())
            assert not now & back, "a unit handed back twice"
            for _, seen in pins:
                assert not now & seen, "a unit handed back under a read that may use it"
            back |= now
        assert reclaim.held_units() == retired - back
    for token, _ in pins:
        reclaim.unpin(token)
    back |= set(reclaim.reusable())
    assert back == retired
    assert reclaim.held_units() == set()
