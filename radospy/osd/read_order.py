"""When a client read may run at once instead of queuing behind its PG's other work.

A replicated PG's primary runs writes one after the other under the PG's op lock, each
holding it until every acting OSD has committed. A read needs no such turn: it must see
every write acknowledged before it was sent and must not see a write before all the
acting OSDs committed it (Ceph's PrimaryLogPG makes a read of an object wait while a
write to that object is in flight; reads of other objects go on). So the ordering a
read needs is per object, and a read runs at once unless:

- a client write to the same object has arrived and is not answered yet (it then
  queues under the lock behind that write, and so sees it once it is committed
  everywhere, or never if it fails);
- the object still has to be recovered to a member (recovery runs under the lock);
- the lock is held by something other than a client write (peering, recovery, snap
  trimming may change any object of the PG while they hold it).

`InFlightWrites` tracks the first condition from the moment a write arrives, in
arrival order, before anything of it can wait; `read_may_run` is the decision.
"""

from __future__ import annotations

ObjectKey = tuple[int, str, str]
"""An object as the ordering sees it: (pool, namespace, name). Clones share their head's
name, so a read at a snap orders behind writes to the head."""


class InFlightWrites:
    """The client writes an OSD has received and not answered yet, counted by object."""

    def __init__(self) -> None:
        self._count: dict[ObjectKey, int] = {}

    def add(self, key: ObjectKey) -> None:
        """A write to ``key`` arrived."""
        self._count[key] = self._count.get(key, 0) + 1

    def done(self, key: ObjectKey) -> None:
        """A write to ``key`` was answered (whatever the answer)."""
        left = self._count[key] - 1
        if left:
            self._count[key] = left
        else:
            del self._count[key]

    def __contains__(self, key: object) -> bool:
        return key in self._count

    def __len__(self) -> int:
        return len(self._count)


def read_may_run(
    object_written: bool, object_missing: bool, lock_held: bool, held_by_write: bool
) -> bool:
    """Whether a read may run now without the PG's op lock: no write to its object in
    flight, nothing of it to recover, and the lock free or held by a client write
    (which, with the first condition, is to another object)."""
    if object_written or object_missing:
        return False
    return not lock_held or held_by_write
