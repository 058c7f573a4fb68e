"""Past intervals kept across OSD restarts (``PastIntervals.reload``): an OSD that
stores its intervals with the newest map it took in, and after a restart folds in every
epoch after it, ends up with the intervals it would have had without the restart."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.osd.peering import PastInterval, PastIntervals, PgView

ACTING_SETS = [(0, 1, 2), (0, 1), (1, 2), (0,), (2,), ()]


@st.composite
def map_walks(draw: st.DrawFn) -> tuple[list[tuple[PgView, int]], list[int]]:
    """A PG's view in epochs 1..n with its primary's up_thru, and restart points."""
    n = draw(st.integers(2, 30))
    views: list[tuple[PgView, int]] = []
    for epoch in range(1, n + 1):
        acting = draw(st.sampled_from(ACTING_SETS))
        primary = acting[0] if acting else -1
        min_size = draw(st.sampled_from([1, 2]))
        up_thru = draw(st.integers(0, epoch))
        views.append((PgView(epoch, acting, primary, acting, primary, 3, min_size), up_thru))
    restarts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=5)))
    return views, restarts


def _fold(views: list[tuple[PgView, int]]) -> PastIntervals:
    past = PastIntervals()
    prev_up_thru: int | None = None
    for view, up_thru in views:
        past.note(view, prev_up_thru)
        prev_up_thru = up_thru
    return past


def _bounds(intervals: list[PastInterval]) -> list[tuple[int, int, tuple[int, ...]]]:
    return [(iv.first, iv.last, iv.acting) for iv in intervals]


@given(map_walks())
@settings(max_examples=300, deadline=None)
def test_restarts_with_the_stored_epoch_keep_every_interval(
    walk: tuple[list[tuple[PgView, int]], list[int]],
) -> None:
    views, restarts = walk
    expected = _fold(views)
    past = PastIntervals()
    prev_up_thru: int | None = None
    for i, (view, up_thru) in enumerate(views):
        past.note(view, prev_up_thru)
        prev_up_thru = up_thru
        if i + 1 in restarts:
            # Stored with the map of this epoch; the restarted OSD reloads them at
            # that map, and has the primary's up_thru there (it asked for that map).
            past = PastIntervals.decode(past.encode())
            past.reload(view)
    assert _bounds(past.intervals) == _bounds(expected.intervals)
    assert (past.current, past.current_start) == (expected.current, expected.current_start)
    # Judged as without the restarts: the interval in progress at a restart is judged
    # by its primary's up_thru, as its start was stored as exact (not the first one).
    assert past.intervals == expected.intervals
    assert past.exact_start == expected.exact_start


def test_only_an_interval_whose_start_was_seen_is_judged_by_up_thru() -> None:
    """The first view's interval, and one begun after skipped maps, may have begun
    earlier than this OSD saw: an up_thru taken between the two must not make it
    "never went read-write", so it counts as read-write whatever the up_thru."""
    past = PastIntervals()
    past.note(_view(3, (0, 1, 2)))
    assert not past.exact_start
    past.note(_view(5, (0, 1)), 2)
    assert past.exact_start and past.intervals[-1].maybe_went_rw
    past.note(_view(8, (1, 2)), 4)
    assert not past.intervals[-1].maybe_went_rw
    past.resume(_view(12, (2,)))
    assert not past.exact_start
    past.note(_view(13, (0, 2)), 9)
    assert past.intervals[-1].maybe_went_rw
    # A map that goes on after a restart judges the interval in progress by up_thru.
    past.note(_view(14, (0, 1, 2)))
    stored = PastIntervals.decode(past.encode())
    assert stored.exact_start and stored.current_start == 14
    stored.reload(_view(15, (0, 1, 2)))
    stored.note(_view(16, (1,)), 13)
    assert not stored.intervals[-1].maybe_went_rw


def _view(epoch: int, acting: tuple[int, ...]) -> PgView:
    return PgView(epoch, acting, acting[0], acting, acting[0], 3, 1)


def test_intervals_stored_after_the_superblock_epoch_already_hold_its_view() -> None:
    past = PastIntervals()
    past.note(_view(3, (0, 1, 2)))
    past.note(_view(7, (0, 1)))
    past.reload(_view(5, (0, 1, 2)))  # the superblock lagged the clean-time write
    assert (past.current_start, past.current) == (7, _view(7, (0, 1)))
    assert _bounds(past.intervals) == [(3, 6, (0, 1, 2))]


def test_intervals_stored_without_the_guarantee_close_as_after_a_gap() -> None:
    past = PastIntervals()
    past.note(_view(3, (0, 1, 2)))
    past.reload(_view(9, (2,)))
    assert past.intervals == [PastInterval(3, 8, (0, 1, 2), (0, 1, 2), 0, True)]
    assert past.current_start == 9


def test_intervals_stored_before_exact_start_was_kept_load_as_inexact() -> None:
    stored = msgspec.msgpack.encode([[], 5, None])
    past = PastIntervals.decode(stored)
    assert (past.current_start, past.exact_start) == (5, False)
