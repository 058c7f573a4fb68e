"""The writes an OSD has in flight, per object: what reads and other ops order behind.

A PG's primary starts writes one after the other under the PG's op lock
(`radospy.osd.op_lock`) and lets each finish past it, once every acting OSD has
committed it, while the next one starts. A read needs no turn under that lock: it must
see every write acknowledged before it was sent and must not see a write before all the
acting OSDs committed it (Ceph's PrimaryLogPG makes a read of an object wait while a
write to that object is in flight; reads of other objects go on). So the ordering is
per object, and a read runs at once unless:

- a client write to the same object has arrived and is not answered yet (the read then
  takes its turn under the lock behind that write and waits for it to finish, so it sees
  it once it is committed everywhere, or never if it fails);
- the object still has to be recovered to a member (recovery runs under the lock);
- the lock is held as the PG's barrier (peering, recovery, scrub, snap trimming, which
  may change any object of the PG, enter only with no write in flight).

`InFlightWrites` is the one registry of both: each object's client writes from the
moment one arrives, in arrival order, before anything of it can wait (`add`, `done`,
``in``), and the write of it that has started under the lock and not finished (`begin`,
`end`, `wait_finished`), which the next op on that object, read or write, waits for.
`read_may_run` is the decision.
"""

from __future__ import annotations

import asyncio

ObjectKey = tuple[int, str, str]
"""An object as the ordering sees it: (pool, namespace, name). Clones share their head's
name, so a read at a snap orders behind writes to the head."""


class InFlightWrites:
    """Per object: the client writes an OSD has received and not answered yet, and the
    write (client or replicated) that has started and not finished."""

    def __init__(self) -> None:
        self._count: dict[ObjectKey, int] = {}
        self._started: dict[ObjectKey, asyncio.Future[None]] = {}

    def add(self, key: ObjectKey) -> None:
        """A client write to ``key`` arrived."""
        self._count[key] = self._count.get(key, 0) + 1

    def done(self, key: ObjectKey) -> None:
        """A client write to ``key`` was answered (whatever the answer)."""
        left = self._count[key] - 1
        if left:
            self._count[key] = left
        else:
            del self._count[key]

    def __contains__(self, key: object) -> bool:
        return key in self._count

    def __len__(self) -> int:
        return len(self._count)

    def begin(self, key: ObjectKey) -> asyncio.Future[None]:
        """A write of ``key`` started (it is versioned, logged and on its way); the
        token to pass to `end` once it has finished. Call holding the PG's op lock, after
        `wait_finished`: one write of an object is started at a time."""
        token: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._started[key] = token
        return token

    def end(self, key: ObjectKey, token: asyncio.Future[None]) -> bool:
        """The write `begin` returned ``token`` for has finished (whatever its outcome);
        False when it had already been ended."""
        if token.done():
            return False
        token.set_result(None)
        if self._started.get(key) is token:
            del self._started[key]
        return True

    async def wait_finished(self, key: ObjectKey) -> None:
        """Wait until no write of ``key`` is started and unfinished, so that an op on it
        sees the write before it, as the client sent them."""
        while (pending := self._started.get(key)) is not None:
            await asyncio.shield(pending)

    @property
    def started(self) -> int:
        """How many objects have a write started and unfinished."""
        return len(self._started)


def read_may_run(object_written: bool, object_missing: bool, barrier_held: bool) -> bool:
    """Whether a read may run now without a turn under the PG's op lock: no client
    write to its object in flight, nothing of it to recover, and the lock not held as
    the PG's barrier (client ops holding it touch only their own object)."""
    return not (object_written or object_missing or barrier_held)
