"""`radospy down [--data DIR]`: stop a cluster `radospy up --daemon` left running.

Only the daemons recorded in `DIR/up.pid` are stopped, and each only if it is still the
process that was recorded: same start time in /proc/PID/stat and same command line. A
PID that the kernel has since given to another process is left alone. OSDs get SIGTERM
first, then the monitors; a daemon still running after a deadline gets SIGKILL.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import select
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radospy.cli._local_cluster import (
    CONF,
    DEFAULT_DATA,
    PID_RECORD,
    RunningDaemon,
    UpError,
    decode_pid_record,
    is_same_process,
    stat_start_time,
    stop_groups,
)
from radospy.common.errors import RadosError

STOP_TIMEOUT = 15.0
"""Seconds daemons get to exit after SIGTERM before SIGKILL."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise UpError(message, errno.EINVAL)


def _parser() -> argparse.ArgumentParser:
    p = _ArgumentParser(prog="radospy down", allow_abbrev=False, description=__doc__)
    p.add_argument("--data", default=DEFAULT_DATA, help=f"cluster directory ({DEFAULT_DATA})")
    return p


@dataclass
class Handle:
    """A live daemon we may signal: a pidfd, so its PID cannot be recycled under us."""

    daemon: RunningDaemon
    pidfd: int


def _read_proc(pid: int) -> tuple[str, bytes] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except OSError:
        return None
    return stat, cmdline


def proc_start_time(pid: int) -> int:
    """The start time of our own child `pid`, as /proc/PID/stat has it."""
    proc = _read_proc(pid)
    start = stat_start_time(proc[0]) if proc is not None else None
    if start is None:
        raise UpError(f"process {pid} vanished as it started")
    return start


def attach(daemon: RunningDaemon) -> Handle | None:
    """A handle on `daemon` if it still runs as recorded; None if it is gone or its
    PID now belongs to someone else.

    The pidfd is opened before /proc is checked: if the check then matches, the
    pidfd refers to the recorded process (it started before the record was written).
    """
    try:
        pidfd = os.pidfd_open(daemon.pid)
    except ProcessLookupError:
        return None
    except OSError as exc:
        raise UpError(f"cannot watch pid {daemon.pid}: {exc.strerror}") from None
    proc = _read_proc(daemon.pid)
    if proc is None or not is_same_process(daemon, *proc):
        os.close(pidfd)
        return None
    return Handle(daemon, pidfd)


def read_record(path: Path) -> list[RunningDaemon]:
    """The daemons recorded in `path` (an `up.pid`); [] if there is no such file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise UpError(f"cannot read {path}: {exc.strerror}") from None
    return decode_pid_record(data, path)


@contextlib.contextmanager
def live_daemons(path: Path) -> Iterator[list[Handle]]:
    """Handles on the recorded daemons that still run (closed on exit)."""
    handles = [h for d in read_record(path) if (h := attach(d)) is not None]
    try:
        yield handles
    finally:
        for h in handles:
            os.close(h.pidfd)


def _wait_exit(handles: list[Handle], deadline: float) -> list[Handle]:
    """Wait until every handle's process exited or `deadline`; those still running."""
    waiting = list(handles)
    while waiting:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        poller = select.poll()
        for h in waiting:
            poller.register(h.pidfd, select.POLLIN)
        # A pidfd becomes readable when its process exits.
        ready = {fd for fd, _ in poller.poll(remaining * 1000)}
        waiting = [h for h in waiting if h.pidfd not in ready]
    return waiting


def _signal(h: Handle, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        signal.pidfd_send_signal(h.pidfd, sig)


def stop(handles: list[Handle], timeout: float = STOP_TIMEOUT) -> list[str]:
    """SIGTERM the gateways, then the OSDs, then the monitors (SIGKILL at the
    deadline); what had to be killed."""
    killed: list[str] = []
    by_entity = {h.daemon.entity: h for h in handles}
    groups = [[by_entity[e] for e in g] for g in stop_groups(by_entity)]
    for group in groups:
        for h in group:
            _signal(h, signal.SIGTERM)
        for h in _wait_exit(group, time.monotonic() + timeout):
            _signal(h, signal.SIGKILL)
            killed.append(h.daemon.entity)
        _wait_exit(group, time.monotonic() + timeout)
    return killed


def _run(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    data = Path(args.data).resolve()
    if not (data / CONF).is_file():
        raise UpError(f"{data} holds no cluster ({CONF} is missing)", errno.ENOENT)
    pid_path = data / PID_RECORD
    if not pid_path.exists():
        print(f"radospy down: nothing to stop ({pid_path} does not exist)")
        return 0
    with live_daemons(pid_path) as handles:
        killed = stop(handles)
    pid_path.unlink()
    names = ", ".join(h.daemon.entity for h in handles) or "none were running"
    print(f"radospy down: stopped {len(handles)} daemons ({names})")
    if killed:
        print(f"radospy down: {', '.join(killed)} ignored SIGTERM and were killed")
    return 0


def main(argv: list[str]) -> int:
    """Entry point: 0, or 1 with a one-line error on stderr."""
    try:
        return _run(argv)
    except RadosError as exc:
        print(f"radospy down: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
