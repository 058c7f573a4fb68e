"""A daemon's background tasks: a vital one failing stops the daemon with its traceback
logged; any other failing is logged and nothing more; none is left unretrieved."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap

import pytest

from radospy.common.tasks import DaemonTasks, TaskFailed, first_done, log_failure

log = logging.getLogger("test.tasks")


async def _boom() -> None:
    await asyncio.sleep(0)
    raise KeyError("no such peer")


async def _forever() -> None:
    await asyncio.Event().wait()


def test_vital_failure_is_reported_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> TaskFailed:
        tasks = DaemonTasks("osd.7", log)
        tasks.spawn(_forever(), vital=True)
        tasks.spawn(_boom(), vital=True)
        async with asyncio.timeout(30):
            failed = await tasks.failure()
        await tasks.cancel_all()
        assert len(tasks) == 0
        return failed

    with caplog.at_level(logging.ERROR, "test.tasks"):
        failed = asyncio.run(main())
    assert "osd.7: _boom failed: KeyError: 'no such peer'" in str(failed)
    record = next(r for r in caplog.records if "vital task _boom failed" in r.getMessage())
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and isinstance(record.exc_info[1], KeyError)


def test_other_failures_are_logged_only(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> bool:
        tasks = DaemonTasks("mon.a", log)
        tasks.spawn(_boom())
        done = tasks.spawn(asyncio.sleep(0), vital=True)  # a vital task may finish
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.2, stop.set)
        winner = await first_done(stop.wait(), tasks.failure())
        await tasks.cancel_all()
        return done.done() and winner.result() is True

    with caplog.at_level(logging.ERROR, "test.tasks"):
        assert asyncio.run(main())
    assert [r.getMessage() for r in caplog.records] == ["mon.a: task _boom failed"]


def test_first_done_leaves_given_tasks_running() -> None:
    async def main() -> bool:
        running = asyncio.ensure_future(_forever())
        done = await first_done(running, asyncio.sleep(0, "fast"))
        alive = not running.done()
        running.cancel()
        return alive and done.result() == "fast"

    assert asyncio.run(main())


def test_a_service_whose_vital_task_fails_exits_non_zero() -> None:
    """The daemons' path end to end: run_service raises, the command line says why on
    stderr with the traceback logged, and the exit status is not 0."""
    script = textwrap.dedent(
        """
        import asyncio, logging, sys
        from radospy.common.errors import RadosError
        from radospy.common.service import run_service
        from radospy.common.tasks import DaemonTasks

        logging.basicConfig(level=logging.INFO)
        log = logging.getLogger("svc")

        async def loop():
            await asyncio.sleep(0.05)
            raise RuntimeError("map loop broke")

        class Svc:
            def __init__(self):
                self.tasks = DaemonTasks("osd.0", log)
            async def run(self):
                self.tasks.spawn(loop(), vital=True)
                raise await self.tasks.failure()
            def stop(self):
                pass

        try:
            run_service(Svc)
        except RadosError as exc:
            print(f"error: {exc}", file=sys.stderr)
            sys.exit(1)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 1
    assert "ERROR:svc:osd.0: vital task loop failed, stopping" in proc.stderr
    assert "Traceback" in proc.stderr and "RuntimeError: map loop broke" in proc.stderr
    assert "error: osd.0: loop failed: RuntimeError: map loop broke" in proc.stderr
    assert "never retrieved" not in proc.stderr


def test_a_task_nobody_awaits_has_its_failure_logged_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        failing = asyncio.create_task(_boom())
        failing.add_done_callback(log_failure(log, "mon.b"))
        fine = asyncio.create_task(asyncio.sleep(0))
        fine.add_done_callback(log_failure(log, "mon.b"))
        cancelled = asyncio.create_task(_forever())
        cancelled.add_done_callback(log_failure(log, "mon.b"))
        await asyncio.wait([failing, fine])
        cancelled.cancel()
        await asyncio.wait([cancelled])

    with caplog.at_level(logging.ERROR, "test.tasks"):
        asyncio.run(main())
    assert [r.getMessage() for r in caplog.records] == ["mon.b: task _boom failed"]
    assert isinstance(caplog.records[0].exc_info[1], KeyError)  # type: ignore[index]
