"""A daemon's background tasks, and what happens when one of them fails.

A daemon runs two kinds of tasks. *Vital* ones are its loops (following maps,
heartbeats, a PG's peering and recovery): one that dies with an unexpected exception
leaves the daemon running but lying about its state (a PG peering forever, peers never
pinged), so its failure is fatal, as a failed assert is in Ceph: the traceback is
logged at error level and the daemon's ``run()`` ends with :class:`TaskFailed`, which
its command line turns into a non-zero exit. Other tasks (one request, one report) only
log their failure: the request it served has failed, nothing else. Either way no task
ends with asyncio's "Task exception was never retrieved".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from errno import EIO
from typing import Any

from radospy.common.errors import RadosError


class TaskFailed(RadosError):
    """A vital task of the daemon died; ``str()`` names it and its exception."""

    def __init__(self, what: str, exc: BaseException | None) -> None:
        cause = f"{type(exc).__name__}: {exc}" if exc is not None else "it returned"
        super().__init__(f"{what} failed: {cause}", EIO)


class DaemonTasks:
    """The background tasks of one daemon (``entity``), logging to ``log``."""

    def __init__(self, entity: str, log: logging.Logger) -> None:
        self.entity = entity
        self._log = log
        self._tasks: set[asyncio.Task[Any]] = set()
        self._failed: asyncio.Future[TaskFailed] | None = None

    def spawn(self, coro: Coroutine[Any, Any, Any], vital: bool = False) -> asyncio.Task[Any]:
        """Run ``coro`` as a task; ``vital`` when its failure must stop the daemon (a
        vital task returning is no failure: loops return when their work is done)."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, vital))
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    def _done(self, task: asyncio.Task[Any], vital: bool) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        what = task.get_coro().__qualname__ if task.get_coro() is not None else task.get_name()
        if not vital:
            self._log.error("%s: task %s failed", self.entity, what, exc_info=exc)
            return
        self._log.error("%s: vital task %s failed, stopping", self.entity, what, exc_info=exc)
        self._stop(what, exc)

    def fail(self, what: str, exc: BaseException) -> None:
        """Stop the daemon as a vital task failing would: ``what`` failed with ``exc``."""
        self._log.error("%s: %s failed, stopping", self.entity, what, exc_info=exc)
        self._stop(what, exc)

    def _stop(self, what: str, exc: BaseException) -> None:
        failed = self._future()
        if not failed.done():
            failed.set_result(TaskFailed(f"{self.entity}: {what}", exc))

    def _future(self) -> asyncio.Future[TaskFailed]:
        if self._failed is None:
            self._failed = asyncio.get_running_loop().create_future()
        return self._failed

    async def failure(self) -> TaskFailed:
        """The first vital task failure (waits until there is one)."""
        return await self._future()

    async def cancel_all(self) -> None:
        """Cancel every task and wait for them to end."""
        while tasks := [t for t in self._tasks if not t.done()]:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def log_failure(log: logging.Logger, entity: str) -> Callable[[asyncio.Task[Any]], None]:
    """A done callback for a task nobody awaits: logs its exception with the traceback
    at once (asyncio would say "Task exception was never retrieved" only when the task
    is collected, if ever)."""

    def done(task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        coro = task.get_coro()
        what = coro.__qualname__ if coro is not None else task.get_name()
        log.error("%s: task %s failed", entity, what, exc_info=task.exception())

    return done


async def first_done(*aws: Awaitable[Any]) -> asyncio.Future[Any]:
    """Whichever of ``aws`` finishes first (its result not taken); the coroutines given
    are run as tasks and cancelled if unfinished, tasks given are left running."""
    futures = [asyncio.ensure_future(a) for a in aws]
    try:
        done, _ = await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
        return next(f for f in futures if f in done)
    finally:
        for given, future in zip(aws, futures, strict=True):
            if future is not given:
                future.cancel()
