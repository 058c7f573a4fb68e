"""RemovalGate: deleting a stray PG copy in a thread and taking a new map are ordered,
so a map that maps the PG here again never loads a collection that vanishes under it
(#5: `load_pg` raised StoreNotFound and the OSD's map loop died)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from radospy.osd.daemon import load_pg, pg_collection
from radospy.osd.objectstore import ObjectStore, Transaction
from radospy.osd.removal_gate import RemovalGate
from radospy.osdmap.pg import PgId

PGID = PgId(1, 0)
CID = pg_collection(PGID)


def _remove_slowly(store: ObjectStore, started: threading.Event, go: threading.Event) -> None:
    """The stray copy's removal, held in its thread until ``go``."""
    started.set()
    go.wait(30)
    store.apply(Transaction().rmcoll(CID))


def _advance(store: ObjectStore) -> str:
    """What `_advance_map` does for a PG mapped here: create its collection if missing,
    then load it."""
    if not store.collection_exists(CID):
        store.apply(Transaction().mkcoll(CID))
    load_pg(store, PGID, CID)
    return "loaded"


@pytest.mark.asyncio
async def test_a_map_advance_waits_for_a_removal_in_progress(tmp_path: Path) -> None:
    store = ObjectStore.mkfs(tmp_path / "osd")
    store.apply(Transaction().mkcoll(CID))
    gate = RemovalGate()
    started, go = threading.Event(), threading.Event()
    order: list[str] = []

    async def remove() -> None:
        async with gate.removal():
            await asyncio.to_thread(_remove_slowly, store, started, go)
            order.append("removed")

    async def advance() -> None:
        async with gate.advance():
            order.append(_advance(store))

    removal = asyncio.create_task(remove())
    await asyncio.to_thread(started.wait, 30)
    advancing = asyncio.create_task(advance())
    await asyncio.sleep(0)
    assert not advancing.done() and order == []
    go.set()
    await asyncio.wait_for(asyncio.gather(removal, advancing), 30)
    # Loaded after the removal, from the collection the advance created anew.
    assert order == ["removed", "loaded"]
    assert store.collection_exists(CID)
    store.close()


@pytest.mark.asyncio
async def test_a_removal_waits_while_a_map_advance_waits_or_runs() -> None:
    gate = RemovalGate()
    order: list[str] = []
    first_in, first_go = asyncio.Event(), asyncio.Event()

    async def removal(name: str, hold: asyncio.Event | None = None) -> None:
        async with gate.removal():
            order.append(f"{name} in")
            if hold is not None:
                first_in.set()
                await hold.wait()
            order.append(f"{name} out")

    async def advance() -> None:
        async with gate.advance():
            order.append("advance")

    first = asyncio.create_task(removal("first", first_go))
    await first_in.wait()
    advancing = asyncio.create_task(advance())
    await asyncio.sleep(0)
    # A removal asked for while the advance waits goes after it: no starvation.
    second = asyncio.create_task(removal("second"))
    await asyncio.sleep(0)
    assert order == ["first in"]
    first_go.set()
    await asyncio.wait_for(asyncio.gather(first, advancing, second), 30)
    assert order == ["first in", "first out", "advance", "second in", "second out"]
    assert gate.removals == 0


@pytest.mark.asyncio
async def test_a_cancelled_advance_lets_removals_through() -> None:
    gate = RemovalGate()
    held, go = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with gate.removal():
            held.set()
            await go.wait()

    holder = asyncio.create_task(hold())
    await held.wait()
    advancing = asyncio.create_task(gate.advance().__aenter__())
    await asyncio.sleep(0)
    advancing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await advancing
    async with asyncio.timeout(30), gate.removal():
        assert gate.removals == 2
    go.set()
    await holder
