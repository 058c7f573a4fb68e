"""`radospy.osd.read_order`: which reads run at once, the count of writes in flight, and
the write of an object the next op on it waits for."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from radospy.osd.read_order import InFlightWrites, read_may_run

A = (1, "", "a")
B = (1, "", "b")


def test_a_read_runs_at_once_only_when_nothing_orders_it():
    # The lock free, or held by client ops (each touches only its own object).
    assert read_may_run(False, False, barrier_held=False)
    # Held as the barrier by peering, recovery or snap trimming: wait for it.
    assert not read_may_run(False, False, barrier_held=True)
    # A write to the object in flight, or the object still to recover.
    assert not read_may_run(True, False, barrier_held=False)
    assert not read_may_run(False, True, barrier_held=False)
    assert not read_may_run(True, True, barrier_held=True)


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


def test_an_op_waits_for_the_started_write_of_its_object_only():
    async def main() -> list[str]:
        writes = InFlightWrites()
        events: list[str] = []
        writes.add(A)
        token = writes.begin(A)
        # Arrived and not answered: a read goes the slow way. Started: an op waits.
        assert A in writes and writes.started == 1

        async def op(key: tuple[int, str, str], name: str) -> None:
            await writes.wait_finished(key)
            events.append(name)

        waiting = asyncio.create_task(op(A, "a"))
        await op(B, "b")  # another object: at once
        for _ in range(5):
            await asyncio.sleep(0)
        assert events == ["b"]
        assert writes.end(A, token) and not writes.end(A, token)
        await waiting
        # Finished but not yet answered: still counted for reads.
        assert A in writes and writes.started == 0
        writes.done(A)
        assert A not in writes
        return events

    assert asyncio.run(main()) == ["b", "a"]
