"""A monitor stops when one of its long-lived loops fails, naming the loop, rather than
serving on without it."""

from __future__ import annotations

import asyncio

import pytest

from radospy.mon.daemon import MonError, _raise_for_dead_loop


async def _fail() -> None:
    raise ZeroDivisionError("division by zero")


async def _forever() -> None:
    await asyncio.Event().wait()


def test_a_failed_loop_stops_the_monitor_with_its_name() -> None:
    async def scenario() -> str:
        failing, running = asyncio.create_task(_fail()), asyncio.create_task(_forever())
        done, _ = await asyncio.wait({failing, running}, return_when=asyncio.FIRST_COMPLETED)
        try:
            with pytest.raises(MonError) as caught:
                _raise_for_dead_loop("mon.a", {running: "raft", failing: "status"}, done)
        finally:
            running.cancel()
        return str(caught.value)

    assert asyncio.run(scenario()) == "status loop failed: ZeroDivisionError('division by zero')"


def test_a_loop_that_ended_cleanly_or_still_runs_is_not_an_error() -> None:
    async def scenario() -> None:
        ended, running = asyncio.create_task(asyncio.sleep(0)), asyncio.create_task(_forever())
        done, _ = await asyncio.wait({ended, running}, return_when=asyncio.FIRST_COMPLETED)
        try:
            _raise_for_dead_loop("mon.a", {ended: "raft", running: "status"}, done)
        finally:
            running.cancel()

    asyncio.run(scenario())
