"""`radospy.osd.read_order`: which reads run at once, and the count of writes in flight."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from radospy.osd.read_order import InFlightWrites, read_may_run

A = (1, "", "a")
B = (1, "", "b")


def test_a_read_runs_at_once_only_when_nothing_orders_it():
    assert read_may_run(False, False, lock_held=False, held_by_write=False)
    # The lock held by a write to another object (this one has none in flight).
    assert read_may_run(False, False, lock_held=True, held_by_write=True)
    # Held by peering, recovery or snap trimming: wait for it.
    assert not read_may_run(False, False, lock_held=True, held_by_write=False)
    # A write to the object in flight, or the object still to recover.
    assert not read_may_run(True, False, lock_held=False, held_by_write=False)
    assert not read_may_run(False, True, lock_held=False, held_by_write=False)
    assert not read_may_run(True, False, lock_held=True, held_by_write=True)


def test_writes_are_counted_per_object():
    writes = InFlightWrites()
    writes.add(A)
    writes.add(A)
    writes.add(B)
    writes.done(A)
    assert A in writes and B in writes
    writes.done(A)
    assert A not in writes and B in writes
    writes.done(B)
    assert len(writes) == 0


@given(st.lists(st.sampled_from([A, B]), max_size=20), st.randoms())
def test_an_object_is_written_while_it_has_writes_not_done(keys, rnd):
    writes = InFlightWrites()
    for key in keys:
        writes.add(key)
    pending = list(keys)
    rnd.shuffle(pending)
    while pending:
        writes.done(pending.pop())
        for key in (A, B):
            assert (key in writes) == (key in pending)
    assert len(writes) == 0
