"""When units that committed transactions freed may be allocated again.

A read looks its object's extents up in the database, then reads their units from the
block file: a big one on a reader thread, while the loop goes on and other transactions
commit. A transaction that overwrites or removes the object meanwhile frees those units;
handed out again and rewritten before the read got to them, they would give it another
object's bytes. So freed units wait (epoch-based reclamation, as in RCU): a read *pins*
the current epoch before its lookup; each committed transaction *retires* its freed units
at the current epoch and starts the next; units retired at epoch ``r`` are *reusable*
once every pin still held is of an epoch after ``r``. Such a pin was taken after the
commit that freed them, so its lookup saw the rows without them.

The lock is only held for a few dictionary operations: readers never wait for a commit,
nor a commit for a reader. The allocator itself is touched by the committer alone (it
takes the reusable units), so it needs no lock of its own.
"""

from __future__ import annotations

import threading
from collections import deque


class Reclaimer:
    """Freed units held back from reuse while a read that may reference them runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch = 0
        self._pins: dict[int, int] = {}
        """Reads in progress per epoch they pinned."""
        self._retired: deque[tuple[int, list[int]]] = deque()
        """Freed units by the epoch they were retired at, oldest first."""

    def pin(self) -> int:
        """A read is about to look its extents up: the token to `unpin` once it has
        read them."""
        with self._lock:
            epoch = self._epoch
            self._pins[epoch] = self._pins.get(epoch, 0) + 1
            return epoch

    def unpin(self, token: int) -> None:
        """The read `pin` returned ``token`` for has read its units (or given up)."""
        with self._lock:
            left = self._pins[token] - 1
            if left:
                self._pins[token] = left
            else:
                del self._pins[token]

    def retire(self, units: list[int]) -> None:
        """A transaction that freed ``units`` has committed."""
        if not units:
            return
        with self._lock:
            self._retired.append((self._epoch, units))
            self._epoch += 1

    def reusable(self) -> list[int]:
        """The retired units no read in progress can reference: the caller frees them."""
        with self._lock:
            oldest = min(self._pins, default=None)
            units: list[int] = []
            while self._retired and (oldest is None or self._retired[0][0] < oldest):
                units += self._retired.popleft()[1]
            return units

    def held_units(self) -> set[int]:
        """The retired units not handed back yet."""
        with self._lock:
            return {unit for _, units in self._retired for unit in units}
