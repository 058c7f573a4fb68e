"""RADOS data path speed: `rados bench` on radospy, beside Debian's Ceph when installed.

Both clusters are built the same way in a temp dir, one after the other in this run:
1 monitor, 3 OSDs on 3 CRUSH hosts, a pool `bench` of 32 PGs and size 3, so every
write is acknowledged once three OSDs committed it durably. On each, the same four runs
with 16 ops in flight: 4 MiB writes, 4 MiB sequential reads of what they left, 4 KiB
writes and 4 KiB sequential reads (`rados bench SECONDS write|seq -b SIZE -t 16`), each
OSD's RSS sampled meanwhile (/proc/PID/status VmRSS, and VmHWM at the end), and the
CPU time all OSDs spent per MB moved (utime+stime from /proc/PID/stat before and after
each run): unlike MB/s, that does not depend on what else loads the machine. The reads'
client CPU per MB is the `rados` process's own (getrusage of the finished child) less
what starting, connecting and stopping cost it (a `rados lspools` run, the cheaper of
two): ~0.35 s for radospy's Python, which would otherwise be ~0.3 ms per MB of a
1 GB run.

The 4 MiB write stops at the same number of objects on both (--objects-4m, 48 per
second of run by default, below either's write rate here), so that both sequential
reads read back the same bytes (without it, the store that writes faster has more to
read); the table's "4M objects read" row shows whether both reached the limit. The
4 MiB read row is the median of SEQ_4M_RUNS reads of that set; its CPU rows, the first's.

radospy runs as `radospy up --daemon` / `radospy down`; Ceph as
/work/shared/reference-ceph/start.sh --new DIR --no-rgw / stop.sh (skipped, with a note,
when `ceph-osd`, `rados` or the scripts are missing, or with --no-ceph).

Run alone: `.venv/bin/python bench/rados.py [--seconds 12] [--threads 16] [--no-ceph]`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from proc import cpu_seconds, status_mib
from proc import run as _run

REFERENCE = Path(os.environ.get("CEPH_REFERENCE", "/work/shared/reference-ceph"))
POOL = "bench"
PG_NUM = "32"
SEQ_4M_RUNS = 3
"""The 4 MiB sequential read is run this many times (the median is reported): one read
of a few GB takes 2-4 s, and this VM's disk gives such a read 0.7-2 GB/s from one
second to the next, so one run alone says little."""


@dataclass
class Result:
    """What one cluster measured: rows by name, and the largest OSD RSS seen (MiB)."""

    rows: dict[str, float] = field(default_factory=dict)
    max_rss_mib: float = 0.0
    note: str = ""


class RssSampler:
    """Samples the RSS of the given PIDs every 0.2 s in a thread; ``peak`` in MiB,
    taking each process's VmHWM at the end as well."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for pid in self.pids:
                self.peak = max(self.peak, status_mib(pid, "VmRSS"))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for pid in self.pids:
            self.peak = max(self.peak, status_mib(pid, "VmHWM"))



def _summary_value(text: str, label: str) -> float:
    match = re.search(rf"^{re.escape(label)}:\s+(\S+)$", text, re.M)
    if match is None:
        raise RuntimeError(f"no '{label}' in the bench output:\n{text}")
    return float(match.group(1))


def _cpu_ms_per_mb(out: str, made: str, cpu: float) -> float:
    mb = _summary_value(out, made) * _summary_value(out, "Object size") / 1e6
    return 1000 * cpu / mb if mb else 0.0


def _children_cpu() -> float:
    """utime + stime of this process's finished children, in seconds."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_suite(
    rados: Callable[..., str],
    seconds: int,
    threads: int,
    objects_4m: int,
    result: Result,
    pids: list[int],
) -> None:
    """The four runs through ``rados(*args) -> stdout``; rows into ``result``, with the
    OSDs' CPU time per MB of each (``pids``) and the client's of the reads. The 4 MiB
    write stops at ``objects_4m`` objects (0: no limit)."""
    t = str(threads)
    caps = {"4M": str(objects_4m), "4K": "0"}
    start_up = []
    for _ in range(2):
        before = _children_cpu()
        rados("lspools")
        start_up.append(_children_cpu() - before)
    for label, size in (("4M", "4M"), ("4K", "4K")):
        before = cpu_seconds(pids)
        out = rados(
            "bench", str(seconds), "write", "-b", size, "-t", t, "--no-cleanup",
            "--max-objects", caps[label],
        )  # fmt: skip
        cpu = cpu_seconds(pids) - before
        print(out, file=sys.stderr)
        if label == "4M":
            result.rows["4M write MB/s"] = _summary_value(out, "Bandwidth (MB/sec)")
        else:
            result.rows["4K write IOPS"] = _summary_value(out, "Average IOPS")
        result.rows[f"{label} write avg latency (s)"] = _summary_value(out, "Average Latency(s)")
        result.rows[f"{label} write OSD CPU ms/MB"] = _cpu_ms_per_mb(out, "Total writes made", cpu)
        before, client_before = cpu_seconds(pids), _children_cpu()
        out = rados("bench", str(seconds), "seq", "-t", t)
        cpu = cpu_seconds(pids) - before
        client_cpu = max(_children_cpu() - client_before - min(start_up), 0.0)
        print(out, file=sys.stderr)
        if label == "4M":
            again = [rados("bench", str(seconds), "seq", "-t", t) for _ in range(SEQ_4M_RUNS - 1)]
            print(*again, sep="\n", file=sys.stderr)
            result.rows["4M seq MB/s"] = statistics.median(
                _summary_value(o, "Bandwidth (MB/sec)") for o in (out, *again)
            )
            result.rows["4M objects read"] = _summary_value(out, "Total reads made")
        else:
            result.rows["4K seq IOPS"] = _summary_value(out, "Average IOPS")
        result.rows[f"{label} seq OSD CPU ms/MB"] = _cpu_ms_per_mb(out, "Total reads made", cpu)
        result.rows[f"{label} seq client CPU ms/MB"] = _cpu_ms_per_mb(
            out, "Total reads made", client_cpu
        )
        rados("cleanup")



def bench_radospy(seconds: int, threads: int, objects_4m: int) -> Result:
    """radospy: `radospy up --daemon` in a temp dir, the runs, `radospy down`."""
    result = Result()
    radospy = [sys.executable, "-m", "radospy.cli.main"]
    with tempfile.TemporaryDirectory(prefix="radospy-bench-") as tmp:
        data = Path(tmp) / "cluster"
        _run([*radospy, "up", "--mons", "1", "--osds", "3", "--data", str(data), "--daemon"])
        try:
            conf = str(data / "radospy.conf")
            _run([*radospy, "ceph", "-c", conf, "osd", "pool", "create", POOL, PG_NUM])
            _run([*radospy, "ceph", "-c", conf, "osd", "pool", "set", POOL, "size", "3"])
            record = json.loads((data / "up.pid").read_text())
            pids = [d["pid"] for d in record if d["entity"].startswith("osd.")]

            def rados(*args: str) -> str:
                return _run([*radospy, "rados", "-c", conf, "-p", POOL, *args])

            with RssSampler(pids) as rss:
                run_suite(rados, seconds, threads, objects_4m, result, pids)
            result.max_rss_mib = rss.peak
        finally:
            _run([*radospy, "down", "--data", str(data)])
    return result


def bench_ceph(seconds: int, threads: int, objects_4m: int) -> Result:
    """Ceph: start.sh --new DIR --no-rgw, the runs, stop.sh; a note when it can't run."""
    missing = [b for b in ("ceph-osd", "ceph-mon", "rados", "ceph") if shutil.which(b) is None]
    if missing or not (REFERENCE / "start.sh").exists():
        return Result(note=f"Ceph not installed ({', '.join(missing) or 'no start.sh'})")
    result = Result()
    with tempfile.TemporaryDirectory(prefix="ceph-bench-") as tmp:
        data = Path(tmp) / "ceph"
        _run([str(REFERENCE / "start.sh"), "--new", str(data), "--no-rgw"], timeout=600)
        try:
            conf = str(data / "ceph.conf")
            _run(["ceph", "-c", conf, "osd", "pool", "create", POOL, PG_NUM, PG_NUM])
            _run(["ceph", "-c", conf, "osd", "pool", "set", POOL, "size", "3"])
            pids = [int(p.read_text()) for p in sorted((data / "run").glob("osd.*.pid"))]

            def rados(*args: str) -> str:
                return _run(["rados", "-c", conf, "-p", POOL, *args], cwd=tmp)

            with RssSampler(pids) as rss:
                run_suite(rados, seconds, threads, objects_4m, result, pids)
            result.max_rss_mib = rss.peak
        finally:
            _run([str(REFERENCE / "stop.sh"), str(data)], timeout=120)
    return result


ROWS = (
    "4M write MB/s",
    "4M seq MB/s",
    "4M objects read",
    "4K write IOPS",
    "4K seq IOPS",
    "4M write avg latency (s)",
    "4K write avg latency (s)",
    "4M write OSD CPU ms/MB",
    "4M seq OSD CPU ms/MB",
    "4K write OSD CPU ms/MB",
    "4K seq OSD CPU ms/MB",
    "4M seq client CPU ms/MB",
    "4K seq client CPU ms/MB",
    "max OSD RSS (MiB)",
)


def table(ours: Result, ceph: Result) -> str:
    """One table: radospy | ceph | ratio (radospy / ceph)."""
    ours.rows["max OSD RSS (MiB)"] = ours.max_rss_mib
    if not ceph.note:
        ceph.rows["max OSD RSS (MiB)"] = ceph.max_rss_mib
    lines = [
        f"| {'what':<26} | {'radospy':>10} | {'ceph':>10} | {'ratio':>6} |",
        f"| {'-' * 26} | {'-' * 9}: | {'-' * 9}: | {'-' * 5}: |",
    ]
    for row in ROWS:
        mine = ours.rows.get(row)
        theirs = ceph.rows.get(row)
        ratio = f"{mine / theirs:.2f}" if mine is not None and theirs else "-"
        lines.append(f"| {row:<26} | {_fmt(mine):>10} | {_fmt(theirs):>10} | {ratio:>6} |")
    if ceph.note:
        lines.append(f"\n{ceph.note}: reference skipped")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if value < 1 else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=12, help="length of each run (12)")
    parser.add_argument("--threads", type=int, default=16, help="ops in flight (16)")
    parser.add_argument(
        "--objects-4m",
        type=int,
        help="stop the 4 MiB write at this many objects (48 per second of --seconds; 0: none)",
    )
    parser.add_argument("--no-ceph", action="store_true", help="skip the Ceph reference")
    args = parser.parse_args()
    objects_4m = args.seconds * 48 if args.objects_4m is None else args.objects_4m
    ours = bench_radospy(args.seconds, args.threads, objects_4m)
    ceph = (
        Result(note="--no-ceph")
        if args.no_ceph
        else bench_ceph(args.seconds, args.threads, objects_4m)
    )
    print(
        f"rados bench, {args.seconds} s per run, {args.threads} in flight, pool size 3,"
        f" 3 OSDs, 1 mon; 4 MiB writes stop at {objects_4m or 'no limit of'} objects"
    )
    print(table(ours, ceph))
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")


if __name__ == "__main__":
    main()
