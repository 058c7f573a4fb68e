"""A change refused with EAGAIN at apply time is validated and proposed again until it
applies, for at most ``mon_op_retry_timeout`` seconds (not a count of attempts), and is
then answered ETIMEDOUT.

One real monitor runs in-process; the command under test proposes monmaps whose epoch
is stale (the current one, not the next), which its Raft log commits and the state
machine refuses with EAGAIN, as a change validated against a state that moved on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from errno import ETIMEDOUT
from pathlib import Path
from typing import TypeVar

from radospy.mon.cmdspec import CommandResult, Propose
from radospy.mon.daemon import MonDaemon
from radospy.mon.machine import MonMapEntry
from radospy.mon.messages import MonCommand
from radospy.mon.monmap import MonMap
from radospy.mon.state import MonState

from .mon_helpers import single_monitor_config

T = TypeVar("T")


def _monitor(tmp_path: Path, op_retry_timeout: float) -> MonDaemon:
    return MonDaemon(single_monitor_config(tmp_path, op_retry_timeout))


def _on_leader(daemon: MonDaemon, scenario: Callable[[], Awaitable[T]]) -> T:
    """Run the monitor, wait (with a deadline) until it leads a bootstrapped state, run
    ``scenario`` there and stop the monitor."""

    async def main() -> T:
        running = asyncio.create_task(daemon.run())
        try:
            async with asyncio.timeout(60):
                while not (
                    daemon.driver is not None
                    and daemon.driver.is_leader
                    and daemon.machine.bootstrapped
                ):
                    await asyncio.sleep(0.01)
                return await scenario()
        finally:
            daemon.stop()
            await running

    return asyncio.run(main())


def _monmap_change(daemon: MonDaemon, stale: Callable[[], bool]) -> Propose:
    """The monitor's monmap again (a modified copy): at its own epoch while ``stale()``,
    so that it applies as EAGAIN, and at the next epoch after that."""
    new = MonMap.decode(daemon.machine.monmap.encode())
    if not stale():
        new.epoch += 1
    return Propose(new.encode(), "mon add")


def _write(
    daemon: MonDaemon, validate: Callable[[MonState], CommandResult | Propose]
) -> Awaitable[CommandResult]:
    msg = MonCommand('{"prefix": "mon add"}', b"", nonce=7, seq=1)
    return daemon._write(msg, validate, lambda data: MonMapEntry(msg.nonce, msg.seq, data))


def test_a_change_refused_more_often_than_twenty_times_still_applies(tmp_path: Path) -> None:
    daemon = _monitor(tmp_path, op_retry_timeout=60.0)
    attempts: list[int] = []

    def validate(_state: MonState) -> CommandResult | Propose:
        attempts.append(len(attempts))
        return _monmap_change(daemon, lambda: len(attempts) <= 30)

    async def scenario() -> tuple[CommandResult, int]:
        epoch = daemon.machine.monmap.epoch
        result = await _write(daemon, validate)
        return result, daemon.machine.monmap.epoch - epoch

    result, epochs = _on_leader(daemon, scenario)
    assert (result.rc, epochs, len(attempts)) == (0, 1, 31)


def test_a_change_refused_until_the_deadline_is_answered_etimedout(tmp_path: Path) -> None:
    daemon = _monitor(tmp_path, op_retry_timeout=1.0)
    attempts: list[int] = []

    def validate(_state: MonState) -> CommandResult | Propose:
        attempts.append(len(attempts))
        return _monmap_change(daemon, lambda: True)

    async def scenario() -> tuple[CommandResult, float, int]:
        epoch = daemon.machine.monmap.epoch
        start = time.monotonic()
        result = await _write(daemon, validate)
        return result, time.monotonic() - start, daemon.machine.monmap.epoch - epoch

    result, took, epochs = _on_leader(daemon, scenario)
    assert result.rc == -ETIMEDOUT
    assert result.outs == "the monitors' state kept changing for 1 s; retry"
    assert took >= 1.0 and epochs == 0 and len(attempts) > 1
