"""CPU per RADOS op: how many CPU microseconds one 4 KiB write or read costs, by process.

Throughput on a shared 2-core machine says more about the neighbours than about the
code; CPU time per op does not (much). Both clusters are built as `bench/rados.py`
builds them (1 monitor, 3 OSDs on 3 CRUSH hosts, a pool of 32 PGs and size 3), one
after the other in this run, and each runs `rados bench SECONDS write -b 4K -t 16`
then `rados bench SECONDS seq -t 16`. For each run the table gives the CPU time
(user + system) per op of the `rados` client (from its rusage, less what the same
`rados` spends on a bare `lspools`: start-up and connecting), of the three OSDs
together, and of the monitor and Ceph's mgr (`/proc/PID/stat` before and after), with
the IOPS beside it for scale. The load average at the start is printed: compare runs
made back to back.

Run alone: `.venv/bin/python bench/rados_cpu.py [--seconds 10] [--no-ceph]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from proc import cpu_seconds
from proc import run as _run
from rados import PG_NUM, POOL, REFERENCE  # bench/rados.py: the same clusters


@dataclass
class CpuResult:
    """Rows by name (µs per op, IOPS), or a note when the cluster could not run."""

    rows: dict[str, float] = field(default_factory=dict)
    note: str = ""



def measure(
    rados: list[str], daemons: dict[str, int], seconds: int, threads: int, cwd: str | None
) -> CpuResult:
    """The write and seq runs through the `rados` argv prefix ``rados``; ``daemons``
    maps names (``osd.0``, ``mon.a``, ``mgr.x``) to PIDs."""
    result = CpuResult()
    base = _client_run([*rados, "lspools"], cwd)[1]
    for label, args in (
        ("4K write", ["bench", str(seconds), "write", "-b", "4K", "-t", str(threads),
                      "--no-cleanup"]),
        ("4K seq", ["bench", str(seconds), "seq", "-t", str(threads)]),
    ):  # fmt: skip
        before = {name: cpu_seconds([pid]) for name, pid in daemons.items()}
        out, client = _client_run([*rados, *args], cwd)
        used = {name: cpu_seconds([pid]) - before[name] for name, pid in daemons.items()}
        match = re.search(r"^Total (?:writes|reads) made:\s+(\d+)$", out, re.M)
        iops = re.search(r"^Average IOPS:\s+(\S+)$", out, re.M)
        if match is None or iops is None or int(match.group(1)) == 0:
            raise RuntimeError(f"no op count in the bench output:\n{out}")
        ops = int(match.group(1))
        osds = sum(v for name, v in used.items() if name.startswith("osd."))
        mons = sum(v for name, v in used.items() if not name.startswith("osd."))
        client_per_op = max(client - base, 0.0) / ops * 1e6
        result.rows[f"{label} IOPS"] = float(iops.group(1))
        result.rows[f"{label} client µs/op"] = client_per_op
        result.rows[f"{label} 3 OSDs µs/op"] = osds / ops * 1e6
        result.rows[f"{label} mon+mgr µs/op"] = mons / ops * 1e6
        result.rows[f"{label} total µs/op"] = client_per_op + (osds + mons) / ops * 1e6
    _client_run([*rados, "cleanup"], cwd)
    return result


def _client_run(argv: list[str], cwd: str | None) -> tuple[str, float]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{err.decode()}")
    return out.decode(), usage.ru_utime + usage.ru_stime


def bench_radospy(seconds: int, threads: int) -> CpuResult:
    """radospy: `radospy up --daemon` in a temp dir, the runs, `radospy down`."""
    radospy = [sys.executable, "-m", "radospy.cli.main"]
    with tempfile.TemporaryDirectory(prefix="radospy-cpu-") as tmp:
        data = Path(tmp) / "cluster"
        _run([*radospy, "up", "--mons", "1", "--osds", "3", "--data", str(data), "--daemon",
              "--rgw-port", "0"])  # fmt: skip
        try:
            conf = str(data / "radospy.conf")
            _run([*radospy, "ceph", "-c", conf, "osd", "pool", "create", POOL, PG_NUM])
            _run([*radospy, "ceph", "-c", conf, "osd", "pool", "set", POOL, "size", "3"])
            record = json.loads((data / "up.pid").read_text())
            daemons = {
                d["entity"]: d["pid"] for d in record if d["entity"].startswith(("osd.", "mon."))
            }
            rados = [*radospy, "rados", "-c", conf, "-p", POOL]
            return measure(rados, daemons, seconds, threads, None)
        finally:
            _run([*radospy, "down", "--data", str(data)])


def bench_ceph(seconds: int, threads: int) -> CpuResult:
    """Ceph: start.sh --new DIR --no-rgw, the runs, stop.sh; a note when it can't run."""
    missing = [b for b in ("ceph-osd", "ceph-mon", "rados", "ceph") if shutil.which(b) is None]
    if missing or not (REFERENCE / "start.sh").exists():
        return CpuResult(note=f"Ceph not installed ({', '.join(missing) or 'no start.sh'})")
    with tempfile.TemporaryDirectory(prefix="ceph-cpu-") as tmp:
        data = Path(tmp) / "ceph"
        _run([str(REFERENCE / "start.sh"), "--new", str(data), "--no-rgw"], timeout=600)
        try:
            conf = str(data / "ceph.conf")
            _run(["ceph", "-c", conf, "osd", "pool", "create", POOL, PG_NUM, PG_NUM])
            _run(["ceph", "-c", conf, "osd", "pool", "set", POOL, "size", "3"])
            daemons = {
                p.name.removesuffix(".pid"): int(p.read_text())
                for p in sorted((data / "run").glob("*.pid"))
                if p.name.startswith(("osd.", "mon.", "mgr."))
            }
            return measure(["rados", "-c", conf, "-p", POOL], daemons, seconds, threads, tmp)
        finally:
            _run([str(REFERENCE / "stop.sh"), str(data)], timeout=120)


def table(ours: CpuResult, ceph: CpuResult) -> str:
    """One table: radospy | ceph | ratio (radospy / ceph)."""
    lines = [
        f"| {'what':<26} | {'radospy':>9} | {'ceph':>9} | {'ratio':>6} |",
        f"| {'-' * 26} | {'-' * 8}: | {'-' * 8}: | {'-' * 5}: |",
    ]
    for row in ours.rows:
        mine, theirs = ours.rows[row], ceph.rows.get(row)
        ratio = f"{mine / theirs:.2f}" if theirs else "-"
        other = f"{theirs:.0f}" if theirs is not None else "-"
        lines.append(f"| {row:<26} | {mine:>9.0f} | {other:>9} | {ratio:>6} |")
    if ceph.note:
        lines.append(f"\n{ceph.note}: reference skipped")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each run (10)")
    parser.add_argument("--threads", type=int, default=16, help="ops in flight (16)")
    parser.add_argument("--no-ceph", action="store_true", help="skip the Ceph reference")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    ours = bench_radospy(args.seconds, args.threads)
    ceph = CpuResult(note="--no-ceph") if args.no_ceph else bench_ceph(args.seconds, args.threads)
    print(
        f"CPU per op, rados bench {args.seconds} s per run, {args.threads} in flight, 4 KiB,"
        f" pool size 3, 3 OSDs, 1 mon; load average {load:.1f} at the start"
    )
    print(table(ours, ceph))


if __name__ == "__main__":
    main()
