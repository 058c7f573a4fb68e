"""PgOpLock: ops take turns in order, writes finish past it, everyone else waits for them."""

from __future__ import annotations

import asyncio

from radospy.osd.op_lock import PgOpLock
from radospy.osd.read_order import InFlightWrites

A, B = (1, "", "a"), (1, "", "b")
X, Y = (1, "", "x"), (1, "", "y")


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_writes_of_other_objects_overlap_and_a_barrier_waits_for_them() -> None:
    async def main() -> list[str]:
        lock = PgOpLock(InFlightWrites())
        events: list[str] = []
        finish = {A: asyncio.Event(), B: asyncio.Event()}

        async def write(key: tuple[int, str, str]) -> None:
            async with lock.ordered():
                await lock.wait_object(key)
                events.append(f"start {key[2]}")
                token = lock.begin(key)
            try:
                await finish[key].wait()
            finally:
                events.append(f"end {key[2]}")
                lock.end(key, token)

        async def peering() -> None:
            async with lock:
                events.append("peering")

        writers = [asyncio.create_task(write(A)), asyncio.create_task(write(B))]
        await _settle()
        assert events == ["start a", "start b"] and lock.in_flight == 2
        barrier = asyncio.create_task(peering())
        await _settle()
        assert "peering" not in events and lock.locked() and lock.barrier_held
        finish[B].set()
        await _settle()
        assert "peering" not in events
        finish[A].set()
        await asyncio.gather(barrier, *writers)
        assert not lock.barrier_held
        return events

    assert asyncio.run(main()) == ["start a", "start b", "end b", "end a", "peering"]


def test_ops_on_one_object_keep_their_order() -> None:
    async def main() -> list[str]:
        lock = PgOpLock(InFlightWrites())
        events: list[str] = []
        release = asyncio.Event()

        async def op(name: str, key: tuple[int, str, str], hold: bool) -> None:
            async with lock.ordered():
                await lock.wait_object(key)
                events.append(f"start {name}")
                token = lock.begin(key)
            if hold:
                await release.wait()
            events.append(f"end {name}")
            lock.end(key, token)

        tasks = [
            asyncio.create_task(op("1", X, True)),
            asyncio.create_task(op("2", X, False)),
            asyncio.create_task(op("3", Y, False)),
        ]
        await _settle()
        # The second op of x waits for the first, holding the turn: the op after it
        # (on y) comes after it too, as the client sent them.
        assert events == ["start 1"]
        release.set()
        await asyncio.gather(*tasks)
        assert lock.in_flight == 0
        return events

    assert asyncio.run(main()) == ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]


def test_end_twice_counts_once_and_wait_begun_times_out() -> None:
    async def main() -> None:
        lock = PgOpLock(InFlightWrites())
        async with lock.ordered():
            token = lock.begin(A)
        lock.end(A, token)
        lock.end(A, token)
        assert lock.in_flight == 0
        await asyncio.wait_for(lock.drained(), 1)
        async with lock:
            pass
        await lock.wait_begun(0.01)  # nothing begins: returns at the timeout

        async def starter() -> None:
            async with lock.ordered():
                lock.end(B, lock.begin(B))

        waiter = asyncio.create_task(lock.wait_begun(30))
        await _settle()
        await starter()
        await asyncio.wait_for(waiter, 5)

    asyncio.run(main())
