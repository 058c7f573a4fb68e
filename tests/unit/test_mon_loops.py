"""A monitor stops when one of its long-lived loops fails, naming the loop, rather than
serving on without it; the failure is reported once."""

from __future__ import annotations

import asyncio
import logging
from errno import ENOSPC
from pathlib import Path

import pytest

from radospy.mon.daemon import (
    MonDaemon,
    MonError,
    _open_store,
    _raise_for_dead_loop,
)

from .mon_helpers import single_monitor_config


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


def test_every_failed_loop_is_logged_once_and_the_first_named(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> str:
        first, second = asyncio.create_task(_fail()), asyncio.create_task(_fail())
        done, _ = await asyncio.wait({first, second})
        with pytest.raises(MonError) as caught:
            _raise_for_dead_loop("mon.a", {first: "raft", second: "status"}, done)
        return str(caught.value)

    with caplog.at_level(logging.ERROR, "radospy.mon"):
        assert asyncio.run(scenario()) == "raft loop failed: ZeroDivisionError('division by zero')"
    assert [r.getMessage() for r in caplog.records] == [
        "mon.a: raft loop failed",
        "mon.a: status loop failed",
    ]


def test_a_monitor_whose_raft_store_fails_stops_with_that_error_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The Raft loop dies on a failed save: the monitor shuts down completely (its
    store closed, "stopped" logged) and ends with a MonError naming the loop and the
    disk's error, which is logged once with its traceback, not raised again by the
    driver's stop() in place of the MonError."""
    config = single_monitor_config(tmp_path)
    daemon = MonDaemon(config)
    saves: list[str] = []

    def disk_full(**kwargs: object) -> None:
        saves.append("refused")
        raise OSError(ENOSPC, "No space left on device")

    # Fault injection: every save of the Raft log fails as on a full disk (the first
    # one is the single monitor's vote for itself when it campaigns).
    daemon.storage.save = disk_full  # type: ignore[method-assign]

    async def run() -> None:
        async with asyncio.timeout(60):
            await daemon.run()

    with caplog.at_level(logging.INFO, "radospy.mon"), pytest.raises(MonError) as caught:
        asyncio.run(run())
    assert str(caught.value) == "raft loop failed: OSError(28, 'No space left on device')"
    assert saves == ["refused"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["mon.a: raft loop failed"]
    assert errors[0].exc_info is not None and isinstance(errors[0].exc_info[1], OSError)
    assert "mon.a: stopped" in [r.getMessage() for r in caplog.records]
    # The store was closed: another monitor process could open it now.
    _open_store(config.data_dir).close()
