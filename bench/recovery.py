"""Recovery speed: one OSD SIGKILLed and marked out, on radospy and on Debian's Ceph.

Both clusters are built the same way in a temp dir, one after the other in this run:
1 monitor, 4 OSDs (each its own failure domain: radospy puts every OSD on its own CRUSH
host, the reference Ceph uses ``osd crush chooseleaf type = 0`` on one host), a pool of
32 PGs and size 3 filled with 1 GiB of 4 MiB objects (`rados bench write -b 4M
--max-objects 256 --no-cleanup`). Once every PG is active+clean, one OSD is SIGKILLed;
the table shows the time until the monitors mark it down, then (after `ceph osd out`)
the time until every PG is active+clean again, and the recovery rate: the bytes of the
PGs the killed OSD held (from `ceph pg dump pgs` before the kill) over that time, and
the CPU the surviving OSD processes spent meanwhile (user+system from /proc/PID/stat)
per MB recovered.

radospy runs as `radospy up --daemon` / `radospy down`; Ceph as
/work/shared/reference-ceph/start.sh --new DIR --no-rgw with NUM_OSD=4 / stop.sh
(skipped, with a note, when Ceph or the scripts are missing, or with --no-ceph).

Run alone: `.venv/bin/python bench/recovery.py [--objects 256] [--no-ceph]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from proc import cpu_seconds
from proc import run as _run
from rados import REFERENCE

POOL = "recovery"
PG_NUM = "32"
VICTIM = 3
DEADLINE = 900.0


def _json(ceph: Callable[..., str], *args: str) -> Any:
    return json.loads(ceph(*args, "--format", "json"))


def _all_clean(ceph: Callable[..., str]) -> bool:
    pgmap = _json(ceph, "status")["pgmap"]
    total = int(pgmap.get("num_pgs", 0))
    clean = sum(
        int(s["count"]) for s in pgmap.get("pgs_by_state", []) if s["state_name"] == "active+clean"
    )
    return total > 0 and clean == total


def _is_down(ceph: Callable[..., str], osd: int) -> bool:
    osds = _json(ceph, "osd", "dump")["osds"]
    return any(o["osd"] == osd and not o["up"] for o in osds)


def _wait(what: str, cond: Callable[[], bool], poll: float = 0.2) -> float:
    """Seconds until ``cond()`` holds (RuntimeError after DEADLINE)."""
    start = time.monotonic()
    while not cond():
        if time.monotonic() - start > DEADLINE:
            raise RuntimeError(f"{what}: not reached within {DEADLINE:.0f} s")
        time.sleep(poll)
    return time.monotonic() - start


def _pg_stats(ceph: Callable[..., str]) -> list[dict[str, Any]]:
    dump = _json(ceph, "pg", "dump", "pgs")
    return list(dump["pg_stats"] if isinstance(dump, dict) else dump)


def _bytes_on(ceph: Callable[..., str], osd: int) -> int:
    return sum(int(pg["stat_sum"]["num_bytes"]) for pg in _pg_stats(ceph) if osd in pg["acting"])


def _clean_without(ceph: Callable[..., str], osd: int) -> bool:
    """Every PG active+clean on an acting set without ``osd`` (so a report from before
    the change cannot pass for the end of recovery)."""
    stats = _pg_stats(ceph)
    return bool(stats) and all(
        pg["state"] == "active+clean" and osd not in pg["acting"] for pg in stats
    )



def measure(
    ceph: Callable[..., str],
    rados: Callable[..., str],
    victim_pid: int,
    survivors: list[int],
    objects: int,
) -> dict[str, float]:
    """Fill, wait clean, kill, mark out, wait clean: the table's rows."""
    ceph("osd", "pool", "create", POOL, PG_NUM, PG_NUM)
    ceph("osd", "pool", "set", POOL, "size", "3")
    rados("bench", "600", "write", "-b", "4M", "-t", "16", "--no-cleanup",
          "--max-objects", str(objects))  # fmt: skip
    _wait("active+clean after the fill", lambda: _all_clean(ceph), 1.0)
    moved = _bytes_on(ceph, VICTIM)
    os.kill(victim_pid, signal.SIGKILL)
    down = _wait(f"osd.{VICTIM} down", lambda: _is_down(ceph, VICTIM), 0.1)
    cpu = cpu_seconds(survivors)
    ceph("osd", "out", str(VICTIM))
    clean = _wait("active+clean after out", lambda: _clean_without(ceph, VICTIM), 0.5)
    cpu = cpu_seconds(survivors) - cpu
    return {
        "SIGKILL -> marked down (s)": down,
        "out -> active+clean (s)": clean,
        "data on the killed OSD (MiB)": moved / 2**20,
        "recovery MB/s": moved / 1e6 / clean if clean else 0.0,
        "OSD CPU ms per MB recovered": cpu * 1e3 / (moved / 1e6) if moved else 0.0,
    }


def bench_radospy(objects: int) -> dict[str, float]:
    radospy = [sys.executable, "-m", "radospy.cli.main"]
    with tempfile.TemporaryDirectory(prefix="radospy-recovery-") as tmp:
        data = Path(tmp) / "cluster"
        _run([*radospy, "up", "--mons", "1", "--osds", "4", "--data", str(data), "--daemon"])
        try:
            conf = str(data / "radospy.conf")
            record = json.loads((data / "up.pid").read_text())
            osds = {d["entity"]: d["pid"] for d in record if d["entity"].startswith("osd.")}
            pid = osds.pop(f"osd.{VICTIM}")

            def ceph(*args: str) -> str:
                return _run([*radospy, "ceph", "-c", conf, *args])

            def rados(*args: str) -> str:
                return _run([*radospy, "rados", "-c", conf, "-p", POOL, *args], timeout=900)

            return measure(ceph, rados, pid, list(osds.values()), objects)
        finally:
            _run([*radospy, "down", "--data", str(data)])


def bench_ceph(objects: int) -> dict[str, float] | str:
    missing = [b for b in ("ceph-osd", "ceph-mon", "rados", "ceph") if shutil.which(b) is None]
    if missing or not (REFERENCE / "start.sh").exists():
        return f"Ceph not installed ({', '.join(missing) or 'no start.sh'})"
    with tempfile.TemporaryDirectory(prefix="ceph-recovery-") as tmp:
        data = Path(tmp) / "ceph"
        env = {**os.environ, "NUM_OSD": "4"}
        _run([str(REFERENCE / "start.sh"), "--new", str(data), "--no-rgw"], timeout=600, env=env)
        try:
            conf = str(data / "ceph.conf")
            pids = {i: int((data / "run" / f"osd.{i}.pid").read_text()) for i in range(4)}
            pid = pids.pop(VICTIM)

            def ceph(*args: str) -> str:
                return _run(["ceph", "-c", conf, *args])

            def rados(*args: str) -> str:
                return _run(["rados", "-c", conf, "-p", POOL, *args], timeout=900, cwd=tmp)

            return measure(ceph, rados, pid, list(pids.values()), objects)
        finally:
            subprocess.run([str(REFERENCE / "stop.sh"), str(data)], capture_output=True,
                           timeout=120, check=False)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=256, help="4 MiB objects (256: 1 GiB)")
    parser.add_argument("--no-ceph", action="store_true", help="skip the Ceph reference")
    args = parser.parse_args()
    ours = bench_radospy(args.objects)
    ref = "skipped (--no-ceph)" if args.no_ceph else bench_ceph(args.objects)
    print(f"one OSD of 4 killed and marked out, pool size 3, {args.objects} x 4 MiB objects")
    print(f"| {'what':<30} | {'radospy':>9} | {'ceph':>9} | {'ratio':>6} |")
    print(f"| {'-' * 30} | {'-' * 8}: | {'-' * 8}: | {'-' * 5}: |")
    for row, value in ours.items():
        theirs = ref.get(row) if isinstance(ref, dict) else None
        shown = f"{theirs:9.1f}" if theirs is not None else f"{'-':>9}"
        ratio = f"{value / theirs:6.2f}" if theirs else f"{'-':>6}"
        print(f"| {row:<30} | {value:9.1f} | {shown} | {ratio} |")
    if isinstance(ref, str):
        print(f"ceph: {ref}")


if __name__ == "__main__":
    main()
