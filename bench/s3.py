"""S3 gateway speed: radospy's `radospy rgw` beside Debian's `radosgw`, through boto3.

Both clusters are built the same way in a temp dir, one after the other in this run:
1 monitor, 3 OSDs, pools of size 3, one gateway. On each, with one user and one bucket:
4 KiB PUTs and then GETs from `--threads` (16) boto3 clients for `--seconds` each (ops/s,
p50 and p99 latency), a 64 MiB PUT and GET (MB/s, best of `--repeat`), and a LIST of a
bucket holding 1000 keys (ms per full listing); the gateway's RSS is sampled throughout.
The CPU time the gateway and the OSDs spent per 4 KiB op and per MB of the 64 MiB
objects (utime+stime from /proc/PID/stat before and after each run) does not depend on
what else loads the machine, unlike ops/s and MB/s.

radospy runs as `radospy up --daemon` (its gateway and default user) / `radospy down`;
Ceph as /work/shared/reference-ceph/start.sh --new DIR / stop.sh with a user made by
`radosgw-admin` on free ports (skipped, with a note, when radosgw or the scripts are
missing or the reference fails to start, or with --no-ceph).

Run alone: `.venv/bin/python bench/s3.py [--seconds 10] [--threads 16] [--no-ceph]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from proc import cpu_seconds, peak_rss_mib
from proc import run as _run

REFERENCE = Path(os.environ.get("CEPH_REFERENCE", "/work/shared/reference-ceph"))
SMALL = 4096
LARGE = 64 << 20
LIST_KEYS = 1000


@dataclass
class Endpoint:
    """A running gateway: URL, keys, the gateway's PIDs (RSS and CPU) and the OSDs'
    (CPU)."""

    url: str
    access_key: str
    secret_key: str
    pids: list[int]
    osd_pids: list[int] = field(default_factory=list)


@dataclass
class Result:
    """Rows by name, and a note when the side could not run."""

    rows: dict[str, float] = field(default_factory=dict)
    note: str = ""



def _client(ep: Endpoint, threads: int) -> Any:
    return boto3.client(
        "s3", endpoint_url=ep.url, aws_access_key_id=ep.access_key,
        aws_secret_access_key=ep.secret_key, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=threads,
                      retries={"max_attempts": 1}),
    )


def _timed_loop(threads: int, seconds: float, op: Any) -> list[float]:
    """Run `op(thread, n)` from `threads` threads for `seconds`; every latency."""
    deadline = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(threads)]

    def worker(t: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            start = time.monotonic()
            op(t, n)
            latencies[t].append(time.monotonic() - start)
            n += 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    return [x for per in latencies for x in per]




@contextmanager
def cpu_cost(ep: Endpoint, rows: dict[str, float], what: str, unit: str,
             units: list[float]) -> Iterator[None]:
    """Rows `<what> CPU gw <unit>` and `<what> CPU OSDs <unit>`: ms of CPU the gateway
    and all OSDs spent over the block per unit of work, `units[0]` (ops or MB), which
    the block sets."""
    gw, osds = cpu_seconds(ep.pids), cpu_seconds(ep.osd_pids)
    yield
    if units[0]:
        rows[f"{what} CPU gw {unit}"] = 1000 * (cpu_seconds(ep.pids) - gw) / units[0]
        rows[f"{what} CPU OSDs {unit}"] = 1000 * (cpu_seconds(ep.osd_pids) - osds) / units[0]


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def run_suite(ep: Endpoint, seconds: float, threads: int, repeat: int) -> Result:
    """The workload against one gateway."""
    result = Result()
    s3 = _client(ep, threads)
    s3.create_bucket(Bucket="bench")
    small = os.urandom(SMALL)
    written: list[set[int]] = [set() for _ in range(threads)]

    def put(t: int, n: int) -> None:
        s3.put_object(Bucket="bench", Key=f"small/{t}/{n}", Body=small)
        written[t].add(n)

    began = time.monotonic()
    ops = [0.0]
    with cpu_cost(ep, result.rows, "4K PUT", "ms/op", ops):
        lat = _timed_loop(threads, seconds, put)
        ops[0] = len(lat)
    result.rows["4K PUT ops/s"] = len(lat) / (time.monotonic() - began)
    result.rows["4K PUT p50 ms"] = _percentile(lat, 50) * 1000
    result.rows["4K PUT p99 ms"] = _percentile(lat, 99) * 1000

    def get(t: int, n: int) -> None:
        keys = sorted(written[t])
        body = s3.get_object(Bucket="bench", Key=f"small/{t}/{keys[n % len(keys)]}")
        assert body["Body"].read() == small

    began = time.monotonic()
    ops = [0.0]
    with cpu_cost(ep, result.rows, "4K GET", "ms/op", ops):
        lat = _timed_loop(threads, seconds, get)
        ops[0] = len(lat)
    result.rows["4K GET ops/s"] = len(lat) / (time.monotonic() - began)
    result.rows["4K GET p50 ms"] = _percentile(lat, 50) * 1000
    result.rows["4K GET p99 ms"] = _percentile(lat, 99) * 1000

    large = os.urandom(LARGE)
    puts, gets = [], []
    mbs = [repeat * LARGE / 1e6]
    with cpu_cost(ep, result.rows, "64M PUT", "ms/MB", mbs):
        for _ in range(repeat):
            began = time.monotonic()
            s3.put_object(Bucket="bench", Key="large", Body=large)
            puts.append(LARGE / 1e6 / (time.monotonic() - began))
    with cpu_cost(ep, result.rows, "64M GET", "ms/MB", mbs):
        for _ in range(repeat):
            began = time.monotonic()
            assert s3.get_object(Bucket="bench", Key="large")["Body"].read() == large
            gets.append(LARGE / 1e6 / (time.monotonic() - began))
    result.rows["64M PUT MB/s"] = max(puts)
    result.rows["64M GET MB/s"] = max(gets)

    s3.create_bucket(Bucket="listing")
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda n: s3.put_object(Bucket="listing", Key=f"k{n:04d}", Body=b""),
                      range(LIST_KEYS)))
    times = []
    for _ in range(repeat):
        began = time.monotonic()
        count = sum(len(page.get("Contents", [])) for page in
                    s3.get_paginator("list_objects_v2").paginate(Bucket="listing"))
        times.append(time.monotonic() - began)
        assert count == LIST_KEYS
    result.rows["LIST 1000 keys ms"] = min(times) * 1000
    result.rows["gateway max RSS MiB"] = peak_rss_mib(ep.pids)
    return result


@contextmanager
def radospy_gateway() -> Iterator[Endpoint]:
    """`radospy up --daemon` with 1 mon and 3 OSDs; its gateway and default user."""
    radospy = [sys.executable, "-m", "radospy.cli.main"]
    with tempfile.TemporaryDirectory(prefix="radospy-s3bench-") as tmp:
        data = Path(tmp) / "cluster"
        out = _run([*radospy, "up", "--mons", "1", "--osds", "3", "--data", str(data),
                    "--daemon"])
        try:
            fields = dict(line.strip().split(":", 1) for line in out.splitlines()
                          if line.strip().startswith(("S3 gateway:", "access key:",
                                                      "secret key:")))
            record = json.loads((data / "up.pid").read_text())
            pids = [d["pid"] for d in record if d["entity"] == "client.rgw"]
            osds = [d["pid"] for d in record if d["entity"].startswith("osd.")]
            yield Endpoint(fields["S3 gateway"].split()[0], fields["access key"].strip(),
                           fields["secret key"].strip(), pids, osds)
        finally:
            _run([*radospy, "down", "--data", str(data)])


@contextmanager
def ceph_gateway() -> Iterator[Endpoint]:
    """The reference cluster with radosgw, and a user made by radosgw-admin."""
    with tempfile.TemporaryDirectory(prefix="ceph-s3bench-") as tmp:
        data = Path(tmp) / "ceph"
        ports = {name: str(_free_port()) for name in ("MON_PORT", "MON_V1_PORT", "RGW_PORT")}
        try:
            _run([str(REFERENCE / "start.sh"), "--new", str(data)], timeout=900,
                 env={**os.environ, **ports})
            conf = str(data / "ceph.conf")
            user = json.loads(_run(["radosgw-admin", "-c", conf, "user", "create",
                                    "--uid", "bench", "--display-name", "bench"], cwd=tmp))
            key = user["keys"][0]
            pids = [int(p.read_text()) for p in (data / "run").glob("*rgw*.pid")]
            osds = [int(p.read_text()) for p in (data / "run").glob("osd.*.pid")]
            url = f"http://127.0.0.1:{ports['RGW_PORT']}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    _client(Endpoint(url, key["access_key"], key["secret_key"], []),
                            1).list_buckets()
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    threading.Event().wait(1)
            yield Endpoint(url, key["access_key"], key["secret_key"], pids, osds)
        finally:
            _run([str(REFERENCE / "stop.sh"), str(data)], timeout=120)


def _free_port() -> int:
    """A TCP port on 127.0.0.1 free right now (the reference's ports may be taken by
    another cluster on this machine)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ROWS = ("4K PUT ops/s", "4K PUT p50 ms", "4K PUT p99 ms", "4K PUT CPU gw ms/op",
        "4K PUT CPU OSDs ms/op", "4K GET ops/s", "4K GET p50 ms", "4K GET p99 ms",
        "4K GET CPU gw ms/op", "4K GET CPU OSDs ms/op", "64M PUT MB/s", "64M PUT CPU gw ms/MB",
        "64M PUT CPU OSDs ms/MB", "64M GET MB/s", "64M GET CPU gw ms/MB",
        "64M GET CPU OSDs ms/MB", "LIST 1000 keys ms", "gateway max RSS MiB")


def table(ours: Result, ceph: Result) -> str:
    """One table: radospy | radosgw | ratio (radospy / radosgw)."""
    lines = [
        f"| {'what':<22} | {'radospy':>9} | {'radosgw':>9} | {'ratio':>6} |",
        f"| {'-' * 22} | {'-' * 8}: | {'-' * 8}: | {'-' * 5}: |",
    ]
    for row in ROWS:
        mine, theirs = ours.rows.get(row), ceph.rows.get(row)
        ratio = f"{mine / theirs:.2f}" if mine is not None and theirs else "-"
        lines.append(f"| {row:<22} | {_fmt(mine):>9} | {_fmt(theirs):>9} | {ratio:>6} |")
    if ceph.note:
        lines.append(f"\n{ceph.note}: reference skipped")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of the 4K runs (10)")
    parser.add_argument("--threads", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--repeat", type=int, default=3, help="64 MiB and LIST runs (3)")
    parser.add_argument("--no-ceph", action="store_true", help="skip the radosgw reference")
    args = parser.parse_args()
    with radospy_gateway() as ep:
        ours = run_suite(ep, args.seconds, args.threads, args.repeat)
    missing = [b for b in ("radosgw", "radosgw-admin", "ceph-osd") if shutil.which(b) is None]
    if args.no_ceph:
        ceph = Result(note="--no-ceph")
    elif missing or not (REFERENCE / "start.sh").exists():
        ceph = Result(note=f"radosgw not installed ({', '.join(missing) or 'no start.sh'})")
    else:
        try:
            with ceph_gateway() as ep:
                ceph = run_suite(ep, args.seconds, args.threads, args.repeat)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(exc, file=sys.stderr)
            ceph = Result(note=f"the reference failed ({str(exc).splitlines()[0][:80]})")
    print(f"S3 through boto3, {args.threads} clients, {args.seconds:g} s per 4K run, "
          "pools of size 3, 3 OSDs, 1 mon")
    print(table(ours, ceph))


if __name__ == "__main__":
    main()
