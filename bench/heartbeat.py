"""Heartbeat ping round trips to a busy OSD: does its ping handler answer promptly
while the OSD writes (the failure detector's view of it)?

1 monitor + 3 OSDs (`radospy up --daemon`), a size-3 pool of 16 PGs. A prober
authenticated as `osd.9` (a key made with `ceph auth get-or-create`, no daemon behind
it) opens a session to osd.1's heartbeat address (from the OSDMap's `hb_addr`) and
sends a Ping every 50 ms, timing each Pong. It does so with the cluster idle (the
reference in the same run), then during `rados bench write` of 4 MiB and of 4 KiB
objects (16 in flight, as bench/rados.py). The table shows, per phase, the pings
answered, the median, 99th percentile and largest round trip, and the OSD's CPU seconds
per second meanwhile (user + system from /proc: how busy its event loop was). A
round trip near `osd_heartbeat_grace` (20 s) is what gets a live OSD marked down.

Run alone: `.venv/bin/python bench/heartbeat.py [--seconds 15]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from proc import cpu_seconds, run

from radospy.auth.handshake import CephxClient
from radospy.auth.keyring import EntityName, Keyring
from radospy.common.addr import parse_addr
from radospy.mon.client import refresh_tickets
from radospy.mon.osdmap_wire import decode_osdmap
from radospy.msg.config import MessengerConfig
from radospy.msg.connection import Connection
from radospy.msg.messages import Message, Ping, Pong
from radospy.msg.messenger import Messenger

POOL = "hb"
PG_NUM = "16"
TARGET = 1
PROBER = "osd.9"
PERIOD = 0.05


class _Prober:
    """Dispatcher that matches Pongs to the Pings it sent."""

    def __init__(self) -> None:
        self.rtts: list[float] = []

    async def handle(self, conn: Connection, msg: Message, tid: int) -> None:
        if isinstance(msg, Pong):
            self.rtts.append(time.monotonic() - msg.stamp)


async def _probe(
    key_text: str, mon_addrs: list[tuple[str, int]], hb_addr: tuple[str, int], stop: Any
) -> list[float]:
    entity = EntityName.parse(PROBER)
    found = Keyring.parse(key_text).get(entity)
    assert found is not None, key_text
    prober = _Prober()
    messenger = Messenger(
        PROBER, MessengerConfig(), CephxClient(PROBER, found.key, time.time), prober
    )
    try:
        await refresh_tickets(messenger, mon_addrs, 30.0)
        conn = await messenger.connect(hb_addr, f"osd.{TARGET}")
        while not stop.is_set():
            conn.try_send(Ping(time.monotonic()))
            await asyncio.sleep(PERIOD)
        await asyncio.sleep(1.0)  # the last answers
        return prober.rtts
    finally:
        await messenger.shutdown()


def _phase(
    name: str,
    load: list[str] | None,
    seconds: int,
    probe_args: tuple[Any, ...],
    osd_pid: int,
) -> dict[str, Any]:
    async def run() -> tuple[list[float], float]:
        stop = asyncio.Event()
        task = asyncio.create_task(_probe(*probe_args, stop))
        cpu0, t0 = cpu_seconds([osd_pid]), time.monotonic()
        if load is None:
            await asyncio.sleep(seconds)
        else:
            proc = await asyncio.create_subprocess_exec(
                *load, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            await proc.wait()
        busy = (cpu_seconds([osd_pid]) - cpu0) / (time.monotonic() - t0)
        stop.set()
        return await task, busy

    rtts, busy = asyncio.run(run())
    ms = sorted(r * 1000 for r in rtts)
    return {
        "phase": name,
        "pings": len(ms),
        "p50": statistics.median(ms) if ms else float("nan"),
        "p99": ms[int(len(ms) * 0.99)] if ms else float("nan"),
        "max": ms[-1] if ms else float("nan"),
        "cpu": busy,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15, help="seconds per phase")
    args = parser.parse_args()
    radospy = [sys.executable, "-m", "radospy.cli.main"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="radospy-hb-") as tmp:
        data = Path(tmp) / "cluster"
        run([*radospy, "up", "--mons", "1", "--osds", "3", "--data", str(data), "--daemon"])
        try:
            conf = str(data / "radospy.conf")

            def ceph(*words: str) -> str:
                return run([*radospy, "ceph", "-c", conf, *words])

            ceph("osd", "pool", "create", POOL, PG_NUM)
            ceph("osd", "pool", "set", POOL, "size", "3")
            key_text = ceph(
                "auth", "get-or-create", PROBER, "mon", "allow profile osd", "osd", "allow *"
            )
            mapfile = Path(tmp) / "osdmap"
            ceph("osd", "getmap", "-o", str(mapfile))
            osdmap, _ = decode_osdmap(mapfile.read_bytes())
            hb = parse_addr(osdmap.osds[TARGET].hb_addr)
            mon_json = json.loads(ceph("mon", "dump", "--format", "json"))
            mon_addrs = [
                (a.host, a.port)
                for m in mon_json["mons"]
                for a in [parse_addr(m["addr"].split("/")[0])]
            ]
            record = json.loads((data / "up.pid").read_text())
            pid = next(d["pid"] for d in record if d["entity"] == f"osd.{TARGET}")
            probe = (key_text, mon_addrs, (hb.host, hb.port))
            bench = [*radospy, "rados", "-c", conf, "-p", POOL, "bench", str(args.seconds)]
            rows.append(_phase("idle (reference)", None, args.seconds, probe, pid))
            for size in ("4M", "4K"):
                load = [*bench, "write", "-b", size, "-t", "16"]
                rows.append(_phase(f"rados bench write {size}", load, args.seconds, probe, pid))
        finally:
            run([*radospy, "down", "--data", str(data)])
    print(f"heartbeat Ping/Pong to osd.{TARGET}, one every {PERIOD * 1000:.0f} ms")
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'phase':<24} {'pings':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'osd cpu':>8}")
    for r in rows:
        print(
            f"{r['phase']:<24} {r['pings']:>6} {r['p50']:>8.1f} {r['p99']:>8.1f} "
            f"{r['max']:>8.1f} {r['cpu']:>8.2f}"
        )


if __name__ == "__main__":
    main()
