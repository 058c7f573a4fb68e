"""What the benchmarks measure of the processes they start, and how they run commands.

CPU time and memory come from /proc, so a figure is the daemon's own cost whatever else
loads the machine.
"""

from __future__ import annotations

import os
import subprocess
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given processes, in seconds (0 for one that is gone)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                # Fields after the parenthesised command name; utime, stime are 14, 15.
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def status_mib(pid: int, name: str) -> float:
    """A size field of /proc/PID/status (``VmRSS``, ``VmHWM``…) in MiB; 0 if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mib(pids: list[int]) -> float:
    """The largest peak RSS (VmHWM) among `pids`, in MiB."""
    return max((status_mib(pid, "VmHWM") for pid in pids), default=0.0)


def run(argv: list[str], timeout: float = 300, **kw: Any) -> str:
    """Runs `argv` and returns its stdout; a non-zero exit raises with its stderr."""
    res = subprocess.run(argv, capture_output=True, timeout=timeout, text=True, **kw)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({res.returncode}):\n{res.stderr}")
    return str(res.stdout)
