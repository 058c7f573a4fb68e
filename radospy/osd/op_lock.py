"""A PG's op lock, under which writes start in order and past which they finish.

Ceph's primary does not serialise a PG's writes end to end: it assigns each its
version in order, sends it to the replicas and answers the client once all of them
committed it, while the next write of the PG is already on its way. Only ops on the
same object wait for one another (its object context), and peering, recovery and
scrub see the PG with no write half done.

`PgOpLock` gives the OSD's shell the same two views of one lock:

- ``async with lock.ordered():`` — a client op's (or a replicated write's) turn:
  exclusive, but writes that started earlier may still be in flight. Inside it,
  `wait_object` waits for the write in flight on one object, and `begin` registers a
  write that finishes after the lock is released (`end` once it has). Which object
  has a write in flight is kept in the OSD's one `InFlightWrites` registry, which
  reads consult too (`radospy.osd.read_order`).
- ``async with lock:`` — the PG's barrier, for everyone else (peering, recovery,
  scrub, snap trim, listing): exclusive, and entered only once no write of the PG is
  in flight, so the PG's log, info and store agree as they did when every write held
  the lock to its end. While it is held (`barrier_held`) reads go through the lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

from radospy.osd.read_order import InFlightWrites, ObjectKey


class PgOpLock:
    """The op lock of one PG (see the module docstring); ``writes``: the OSD's registry
    of writes in flight per object."""

    def __init__(self, writes: InFlightWrites) -> None:
        self._writes = writes
        self._mutex = asyncio.Lock()
        self._barrier = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._begun: asyncio.Future[None] | None = None

    def ordered(self) -> asyncio.Lock:
        """The lock without waiting for writes in flight: for ops, which order by it."""
        return self._mutex

    def locked(self) -> bool:
        """Whether some task holds the lock."""
        return self._mutex.locked()

    @property
    def barrier_held(self) -> bool:
        """Whether the lock is held (or waited for, holding it) as the PG's barrier."""
        return self._barrier

    @property
    def in_flight(self) -> int:
        """How many writes started under the lock have not finished yet."""
        return self._in_flight

    async def wait_object(self, key: ObjectKey) -> None:
        """Wait (holding the lock) until no write of object ``key`` is in flight."""
        await self._writes.wait_finished(key)

    def begin(self, key: ObjectKey, ordered: bool = True) -> asyncio.Future[None]:
        """Register a write of object ``key`` that finishes after the lock is released;
        the token to pass to `end`. Call holding the lock, after `wait_object`; or,
        with ``ordered=False``, while nobody holds it, in the same step of the event
        loop as the check (a replicated write that waits for nothing starts so,
        without a task: as if it took the lock and released it at once)."""
        assert self._mutex.locked() == ordered, "begin() holding the lock, or not at all"
        token = self._writes.begin(key)
        self._in_flight += 1
        self._idle.clear()
        if self._begun is not None:
            self._begun.set_result(None)
            self._begun = None
        return token

    async def wait_begun(self, timeout: float) -> None:
        """Wait (without the lock) until the next `begin`, at most ``timeout`` seconds."""
        if self._begun is None:
            self._begun = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._begun), timeout)

    async def drained(self) -> None:
        """Wait (without the lock) until no write is in flight."""
        await self._idle.wait()

    def end(self, key: ObjectKey, token: asyncio.Future[None]) -> None:
        """The write `begin` returned ``token`` for has finished (whatever its outcome)."""
        if not self._writes.end(key, token):
            return
        self._in_flight -= 1
        if not self._in_flight:
            self._idle.set()

    async def __aenter__(self) -> None:
        await self._mutex.acquire()
        self._barrier = True
        try:
            await self._idle.wait()
        except BaseException:
            self._barrier = False
            self._mutex.release()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._barrier = False
        self._mutex.release()
