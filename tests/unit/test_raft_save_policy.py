"""Where a leader saves a Ready: on its loop's thread when changes come one at a time,
on the storage thread while they are pipelined or a background save must go first."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from radospy.raft import Entry
from radospy.raft.core import Ready
from radospy.raft.messages import HardState, Snapshot
from radospy.raft.save_policy import LeaderSavePolicy


def entries_from(index: int, count: int = 1) -> Ready:
    """A leader's Ready with new entries ``index``.. (must sync)."""
    new = tuple(Entry(2, i, data=b"x") for i in range(index, index + count))
    return Ready(entries=new, send_first=True, must_sync=True)


COMMIT_ONLY = Ready(hard_state=HardState(2, 1, 7), send_first=True)
"""A new commit index: nothing to sync."""


def test_one_change_at_a_time_goes_inline_once_the_streak_is_reached() -> None:
    policy = LeaderSavePolicy(streak=3)
    decisions = [policy.inline(entries_from(i), i - 1, writer_busy=False) for i in range(5, 10)]
    assert decisions == [False, False, True, True, True]


def test_entries_cut_while_others_are_in_flight_reset_the_streak() -> None:
    policy = LeaderSavePolicy(streak=2)
    assert [policy.inline(entries_from(i), i - 1, False) for i in (5, 6, 7)] == [False, True, True]
    # 8 proposed while 7 is not yet committed: pipelined, so in the background...
    assert not policy.inline(entries_from(8), committed=6, writer_busy=False)
    # ...and the next ones too until the streak builds up again.
    assert [policy.inline(entries_from(i), i - 1, False) for i in (9, 10, 11)] == [
        False,
        True,
        True,
    ]


def test_a_busy_writer_takes_every_save_in_order() -> None:
    policy = LeaderSavePolicy(streak=1)
    assert policy.inline(entries_from(5), 4, writer_busy=False)
    assert not policy.inline(entries_from(6), 5, writer_busy=True)
    assert not policy.inline(COMMIT_ONLY, 6, writer_busy=True)


def test_a_save_with_nothing_to_sync_is_inline_whenever_the_writer_is_idle() -> None:
    policy = LeaderSavePolicy(streak=0)
    assert policy.inline(COMMIT_ONLY, 7, writer_busy=False)
    assert not policy.inline(entries_from(8), 7, writer_busy=False)


def test_a_compaction_goes_to_the_storage_thread() -> None:
    policy = LeaderSavePolicy(streak=1)
    assert policy.inline(entries_from(5), 4, False)
    snap = Snapshot(index=5, term=2, data=b"state")
    assert not policy.inline(Ready(compaction=snap, send_first=True, must_sync=True), 5, False)


@given(
    streak=st.integers(0, 6),
    steps=st.lists(st.tuples(st.booleans(), st.booleans(), st.integers(1, 3)), max_size=40),
)
def test_synced_entries_go_inline_only_after_a_full_streak_of_lone_ones(
    streak: int, steps: list[tuple[bool, bool, int]]
) -> None:
    """Whatever the sequence, a synced save of entries is inline exactly when the writer
    is idle and the last ``streak`` entry Readys (this one included) each found every
    earlier entry committed; never with ``streak`` 0."""
    policy = LeaderSavePolicy(streak=streak)
    history: list[bool] = []
    index = 1
    for alone, busy, count in steps:
        committed = index - 1 if alone else index - 2
        got = policy.inline(entries_from(index, count), committed, busy)
        history.append(alone)
        run = len(history) - max((i + 1 for i, a in enumerate(history) if not a), default=0)
        assert got == (not busy and streak > 0 and run >= streak)
        index += count
