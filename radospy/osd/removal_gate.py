"""Ordering between deleting stray PG copies and taking a new OSDMap.

An OSD deletes a stray copy of a PG (``PGRemove`` from the PG's primary) in a thread,
since removing a big collection takes a while. Taking a new map (``_advance_map``)
creates, loads and removes PG collections on the event loop. Without an order between
the two, a map that maps the PG here again could find its collection still present,
load it, and have it vanish under it (StoreNotFound: the OSD's map loop died), or both
could remove the same collection.

`RemovalGate` is a readers-writer gate with the writer preferred: removals run side by
side; a map advance waits for the removals in progress and holds back new ones until it
is done, so a flood of removals cannot starve the map. A removal decides whether the
copy is stray inside the gate, under the newest map.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class RemovalGate:
    """Removals of stray PG copies (shared) against map advances (exclusive)."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._removals = 0
        self._advancing = 0

    @property
    def removals(self) -> int:
        """Removals in progress."""
        return self._removals

    @contextlib.asynccontextmanager
    async def removal(self) -> AsyncIterator[None]:
        """Hold the gate for one removal: entered once no map advance is waiting."""
        async with self._changed:
            await self._changed.wait_for(lambda: not self._advancing)
            self._removals += 1
        try:
            yield
        finally:
            async with self._changed:
                self._removals -= 1
                self._changed.notify_all()

    @contextlib.asynccontextmanager
    async def advance(self) -> AsyncIterator[None]:
        """Hold the gate for a map advance: new removals wait from now on; entered once
        the removals in progress are done."""
        async with self._changed:
            self._advancing += 1
            try:
                await self._changed.wait_for(lambda: not self._removals)
            except BaseException:
                self._advancing -= 1
                self._changed.notify_all()
                raise
        try:
            yield
        finally:
            async with self._changed:
                self._advancing -= 1
                self._changed.notify_all()
