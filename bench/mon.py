"""Monitor commit speed: a 3-monitor group on loopback, beside etcd when it is installed.

Each map change is one `osd pool set-quota bench max_objects N` with a new N every time
(a new OSDMap epoch, one Raft entry, fsynced on a majority before the reply); the table
counts the epochs the run actually made. One client sends them, first one at a
time (latency), then with several in flight (throughput; the leader validates each
change against the ones accepted before it and, while one Raft entry is being committed,
gathers the changes that arrive into the next, as Ceph's monitors do). etcd, when `etcd` is on
PATH (Debian's `etcd-server`), runs as a 3-member cluster on loopback and takes the same
number of puts from one client over its HTTP/JSON gateway with the same concurrency.

Besides the rates, each row gives the CPU time spent per commit (utime + stime from
/proc, which unlike commits/s hardly depends on how loaded the machine is): by all three
members together, by the busiest one (the leader) and by the client (this process).

Run alone: `.venv/bin/python bench/mon.py`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import uvloop

from radospy.auth.crypto import CryptoKey
from radospy.auth.keyring import EntityAuth, EntityName, Keyring
from radospy.common.addr import Addr
from radospy.common.config import Config
from radospy.mon.client import MonClient, client_config
from radospy.mon.monmap import MonMap

COUNT = 600
IN_FLIGHT = 16
NAMES = ("a", "b", "c")


def _ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _start_mons(root: Path) -> tuple[list[subprocess.Popen[bytes]], Path]:
    keyring = Keyring()
    keyring.entities[EntityName.parse("mon.")] = EntityAuth(
        CryptoKey.generate(time.time()), {"mon": "allow *"}
    )
    keyring.entities[EntityName.parse("client.admin")] = EntityAuth(
        CryptoKey.generate(time.time()), {"mon": "allow *"}
    )
    (root / "keyring").write_text(keyring.to_text())
    monmap = MonMap.create()
    ports = _ports(len(NAMES))
    for name, port in zip(NAMES, ports, strict=True):
        monmap.add(name, Addr("127.0.0.1", port))
    (root / "monmap").write_bytes(monmap.encode())
    conf = root / "radospy.conf"
    hosts = ",".join(f"127.0.0.1:{p}" for p in ports)
    conf.write_text(
        f"[global]\nmon_host = {hosts}\nkeyring = {root}/keyring\n"
        f"log_file = {root}/$name.log\n[mon]\nmon_data = {root}/mon.$id\n"
    )
    mon = [sys.executable, "-m", "radospy.cli.main", "mon", "-c", str(conf)]
    for name in NAMES:
        subprocess.run(
            [*mon, "--mkfs", "-i", name, "--monmap", str(root / "monmap")],
            check=True,
            capture_output=True,
        )
    procs = [subprocess.Popen([*mon, "-i", name, "--foreground"]) for name in NAMES]
    return procs, conf


@dataclass
class Run:
    """One timed run of COUNT operations."""

    elapsed: float
    latencies: list[float]
    member_cpu: list[float]
    """CPU seconds each member process spent during the run."""
    client_cpu: float


def _cpu_seconds(pid: int) -> float:
    """utime + stime of process ``pid``, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        # Fields after the parenthesised command name; utime, stime are 14, 15.
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _timed(op: Callable[[int], Awaitable[None]], in_flight: int, pids: list[int]) -> Run:
    """Run op(0..COUNT-1) with ``in_flight`` at a time, members ``pids`` serving it."""
    latencies: list[float] = []
    queue = iter(range(COUNT))

    async def worker() -> None:
        for i in queue:
            t0 = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - t0)

    cpu0 = [_cpu_seconds(pid) for pid in pids]
    client0 = time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    elapsed = time.perf_counter() - t0
    client = time.process_time() - client0
    cpu = [_cpu_seconds(pid) - c for pid, c in zip(pids, cpu0, strict=True)]
    return Run(elapsed, latencies, cpu, client)


async def bench_mons(root: Path) -> dict[int, Run]:
    procs, conf = _start_mons(root)
    try:
        config = Config("client.admin")
        config.load_file(conf)
        async with MonClient(client_config(config, 30.0)) as client:
            await client.command({"prefix": "osd pool create", "pool": "bench", "pg_num": 8})
            values = iter(range(1, 10 * COUNT))

            async def change(i: int) -> None:
                cmd = {
                    "prefix": "osd pool set-quota",
                    "pool": "bench",
                    "field": "max_objects",
                    "val": str(next(values)),
                }
                rc, _, outs = await client.command(cmd)
                if rc != 0:
                    raise RuntimeError(outs)

            results = {}
            pids = [proc.pid for proc in procs]
            for n in (1, IN_FLIGHT):
                before = await _epoch(client)
                results[n] = await _timed(change, n, pids)
                if await _epoch(client) - before != COUNT:
                    raise RuntimeError("not every command made a new epoch")
            return results
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait()


async def _epoch(client: MonClient) -> int:
    rc, out, outs = await client.command({"prefix": "osd stat", "format": "json"})
    if rc != 0:
        raise RuntimeError(outs)
    epoch: int = json.loads(out)["epoch"]
    return epoch


async def bench_etcd(root: Path) -> dict[int, Run]:
    ports = _ports(6)
    cluster = ",".join(f"e{i}=http://127.0.0.1:{ports[2 * i]}" for i in range(3))
    procs = [
        subprocess.Popen(
            [
                "etcd",
                "--name",
                f"e{i}",
                "--data-dir",
                str(root / f"etcd{i}"),
                "--listen-peer-urls",
                f"http://127.0.0.1:{ports[2 * i]}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{ports[2 * i]}",
                "--listen-client-urls",
                f"http://127.0.0.1:{ports[2 * i + 1]}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{ports[2 * i + 1]}",
                "--initial-cluster",
                cluster,
                "--initial-cluster-state",
                "new",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(3)
    ]
    url = f"http://127.0.0.1:{ports[1]}/v3/kv/put"
    try:
        async with aiohttp.ClientSession() as http:

            async def put(i: int) -> None:
                key = base64.b64encode(b"noout").decode()
                value = base64.b64encode(str(i % 2).encode()).decode()
                async with http.post(url, json={"key": key, "value": value}) as resp:
                    resp.raise_for_status()
                    await resp.read()

            deadline = time.monotonic() + 30
            while True:
                try:
                    await put(0)
                    break
                except aiohttp.ClientError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            pids = [proc.pid for proc in procs]
            return {n: await _timed(put, n, pids) for n in (1, IN_FLIGHT)}
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait()


def _row(system: str, in_flight: int, run: Run) -> str:
    q = statistics.quantiles(run.latencies, n=100)
    per_commit = 1000 / COUNT
    return (
        f"{system:<22} {in_flight:>9} {COUNT / run.elapsed:>10.0f} "
        f"{q[49] * 1000:>7.2f} {q[98] * 1000:>7.2f} "
        f"{sum(run.member_cpu) * per_commit:>11.3f} {max(run.member_cpu) * per_commit:>11.3f} "
        f"{run.client_cpu * per_commit:>11.3f}"
    )


async def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, result in (await bench_mons(Path(tmp))).items():
            rows.append(_row("radospy mons (3)", n, result))
    if shutil.which("etcd"):
        with tempfile.TemporaryDirectory() as tmp:
            for n, result in (await bench_etcd(Path(tmp))).items():
                rows.append(_row("etcd (3 members)", n, result))
    else:
        rows.append(f"{'etcd':<22} (not installed: apt-get install etcd-server)")
    print(f"{COUNT} map changes / puts, one client, loopback, 3 members each")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    print(
        f"{'system':<22} {'in flight':>9} {'commits/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'members':>11} {'busiest':>11} {'client':>11}"
    )
    print(f"{'':<22} {'':>9} {'':>10} {'':>7} {'':>7} {'CPU ms per commit':^35}")
    print("\n".join(rows))


if __name__ == "__main__":
    uvloop.run(main())
