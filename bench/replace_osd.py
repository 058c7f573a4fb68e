"""Replacing an OSD three ways: PGs predicted to move, PGs that moved, time to clean.

A cluster of 1 monitor and 5 OSDs (radospy: `radospy up --daemon`, every OSD its own
CRUSH host; Ceph: /work/shared/reference-ceph/start.sh with NUM_OSD=5, one host and
``osd crush chooseleaf type = 0``), a pool of 32 PGs and size 3 holding `--objects` 4 MiB
objects. osd.4 is then replaced three times in a row, each way as Ceph's docs give it:

1. drain and purge: `osd crush reweight osd.4 0`, wait active+clean, stop it,
   `osd purge 4 --yes-i-really-mean-it`, then a new disk (`osd new`, mkfs, start);
2. destroy and reuse the id: `osd set noout`, the OSD SIGKILLed (a failed disk),
   `osd destroy 4 --yes-i-really-mean-it`, a new disk re-created as osd.4 at the same
   CRUSH place, `osd unset noout`;
3. out, then remove by hand: `osd out 4`, wait active+clean, stop it, `osd crush remove
   osd.4`, `auth del osd.4`, `osd rm 4`, then a new disk.

For each step the table shows the PGs whose up set changed: predicted by radospy's
placement what-if (`radospy.osdmap.whatif.operator_step` on the OSDMap taken just before
the step, the same computation as `osdmaptool --test-map-pgs`), and as `ceph pg dump`
reports them once the step has settled (every PG active, none on the stopped OSD; after
the last step every PG active+clean); then the time from the last step to active+clean
and for the whole procedure. For Ceph only what `pg dump` shows is measured (its OSDMap is
Ceph's own encoding, which radospy does not decode); `ceph-volume` is not usable here, so
its new disks are made as start.sh makes them (`osd new UUID ID -i secret.json`,
`ceph-osd --mkfs`).

Run alone: `.venv/bin/python bench/replace_osd.py [--objects 64] [--no-ceph]`.
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
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proc import run as _run
from rados import REFERENCE
from recovery import _wait

from radospy.mon.osdmap_wire import decode_osdmap
from radospy.osd.daemon import PID_FILE
from radospy.osdmap.osdmap import OSDMap
from radospy.osdmap.whatif import changed_pgs, operator_step, placement_of, up_sets

POOL = "replace"
PG_NUM = "32"
OSD = 4
DEADLINE = 900.0

UpSets = dict[str, frozenset[int]]


class Cluster:
    """What the procedures need of a cluster; `RadospyCluster` and `CephCluster` say how."""

    def ceph(self, *args: str) -> str:
        raise NotImplementedError

    def osdmap(self) -> OSDMap | None:
        """The current OSDMap in radospy's model, or None when it cannot be read."""
        return None

    def kill(self, osd: int, sig: int) -> None:
        """Send ``sig`` to the OSD's process and wait until it is gone."""
        raise NotImplementedError

    def new_disk(self, osd: int) -> None:
        """A new, empty disk registered as ``osd`` (`osd new`, mkfs) and started."""
        raise NotImplementedError

    pool_id = -1
    """The bench pool's id (other pools, such as Ceph's device_health_metrics, are left
    out of the counts)."""

    def pgs(self) -> list[dict[str, Any]]:
        dump = json.loads(self.ceph("pg", "dump", "pgs", "--format", "json"))
        stats = dump["pg_stats"] if isinstance(dump, dict) else dump
        return [pg for pg in stats if pg["pgid"].startswith(f"{self.pool_id}.")]

    def up_sets(self) -> UpSets:
        return {pg["pgid"]: frozenset(pg["up"]) for pg in self.pgs()}

    def settled(self, without: int | None) -> bool:
        """Every PG active (and clean, unless an OSD is left out), none on ``without``."""
        stats = self.pgs()
        want = {"active"} if without is not None else {"active", "clean"}
        return len(stats) == int(PG_NUM) and all(
            want <= set(pg["state"].split("+"))
            and not {"stale", "peering", "remapped"} & set(pg["state"].split("+"))
            and without not in pg["up"]
            for pg in stats
        )

    def wait_down(self, osd: int) -> None:
        def down() -> bool:
            osds = json.loads(self.ceph("osd", "dump", "--format", "json"))["osds"]
            return any(o["osd"] == osd and not o["up"] for o in osds)

        _wait(f"osd.{osd} down", down, 0.5)

    def wait_up(self, osd: int) -> None:
        def up() -> bool:
            osds = json.loads(self.ceph("osd", "dump", "--format", "json"))["osds"]
            return any(o["osd"] == osd and o["up"] for o in osds)

        _wait(f"osd.{osd} up", up, 0.5)


@dataclass
class Step:
    """One operator step: its label, the what-if actions it amounts to, what to do, and
    whether the OSD is left out of every up set afterwards (else: wait active+clean)."""

    label: str
    whatif: tuple[str, ...]
    run: Callable[[Cluster], None]
    leaves_out: bool


def _stop(c: Cluster) -> None:
    c.kill(OSD, signal.SIGTERM)
    c.ceph("osd", "down", str(OSD))
    c.wait_down(OSD)


def _fail(c: Cluster) -> None:
    c.ceph("osd", "set", "noout")
    c.kill(OSD, signal.SIGKILL)
    c.ceph("osd", "down", str(OSD))
    c.wait_down(OSD)
    c.ceph("osd", "destroy", str(OSD), "--yes-i-really-mean-it")


def _recreate(c: Cluster) -> None:
    c.new_disk(OSD)
    c.ceph("osd", "unset", "noout")


def _remove(c: Cluster) -> None:
    _stop(c)
    c.ceph("osd", "crush", "remove", f"osd.{OSD}")
    c.ceph("auth", "del", f"osd.{OSD}")
    c.ceph("osd", "rm", str(OSD))


def _drain(c: Cluster) -> None:
    c.ceph("osd", "crush", "reweight", f"osd.{OSD}", "0")


def _purge(c: Cluster) -> None:
    _stop(c)
    c.ceph("osd", "purge", str(OSD), "--yes-i-really-mean-it")


def _out(c: Cluster) -> None:
    c.ceph("osd", "out", str(OSD))


def _add(c: Cluster) -> None:
    c.new_disk(OSD)


WAYS: dict[str, list[Step]] = {
    "1. drain (crush weight 0), purge, add": [
        Step("crush reweight 0", ("crush reweight 0",), _drain, True),
        Step("stop, purge", ("kill", "purge"), _purge, True),
        Step("new disk", ("add",), _add, False),
    ],
    "2. destroy, re-create the same id": [
        Step("noout, fail, destroy", ("destroy",), _fail, True),
        Step("re-create, unset noout", ("recreate",), _recreate, False),
    ],
    "3. out, rm by hand, add": [
        Step("out", ("out",), _out, True),
        Step("stop, crush remove, auth del, rm", ("kill", "crush remove", "rm"), _remove, True),
        Step("new disk", ("add",), _add, False),
    ],
}


@dataclass
class WayResult:
    """Per step (predicted, actual) PGs whose up set changed; timings in seconds."""

    steps: dict[str, tuple[int | None, int]] = field(default_factory=dict)
    last_to_clean: float = 0.0
    total: float = 0.0


def replace(c: Cluster, steps: list[Step]) -> WayResult:
    """Run one way's steps, measuring each; the cluster ends active+clean with 5 OSDs."""
    result = WayResult()
    start = time.monotonic()
    original = c.osdmap()
    place = placement_of(original, OSD) if original is not None else None
    for step in steps:
        osdmap = c.osdmap()
        predicted = None
        if osdmap is not None and place is not None:
            after = osdmap
            for action in step.whatif:
                after = operator_step(after, action, OSD, place)
            moved = changed_pgs(up_sets(osdmap), up_sets(after))
            predicted = sum(1 for pg in moved if pg.pool == c.pool_id)
        before = c.up_sets()
        began = time.monotonic()
        step.run(c)
        _wait(step.label, lambda s=step: c.settled(OSD if s.leaves_out else None), 1.0)
        result.steps[step.label] = (predicted, len(changed_pgs(before, c.up_sets())))
        result.last_to_clean = time.monotonic() - began
    result.total = time.monotonic() - start
    return result


def fill(c: Cluster, rados: Callable[..., str], objects: int) -> None:
    c.ceph("osd", "pool", "create", POOL, PG_NUM, PG_NUM)
    c.ceph("osd", "pool", "set", POOL, "size", "3")
    pools = json.loads(c.ceph("osd", "dump", "--format", "json"))["pools"]
    c.pool_id = next(int(p["pool"]) for p in pools if p["pool_name"] == POOL)
    rados("bench", "600", "write", "-b", "4M", "-t", "16", "--no-cleanup",
          "--max-objects", str(objects))  # fmt: skip
    _wait("active+clean after the fill", lambda: c.settled(None), 1.0)


class RadospyCluster(Cluster):
    def __init__(self, data: Path) -> None:
        self.data = data
        self.conf = str(data / "radospy.conf")
        self.cmd = [sys.executable, "-m", "radospy.cli.main"]

    def ceph(self, *args: str) -> str:
        return _run([*self.cmd, "ceph", "-c", self.conf, *args])

    def osdmap(self) -> OSDMap | None:
        path = self.data / "osdmap.bin"
        self.ceph("osd", "getmap", "-o", str(path))
        return decode_osdmap(path.read_bytes())[0]

    def pid(self, osd: int) -> int:
        return int((self.data / f"osd.{osd}" / PID_FILE).read_text())

    def kill(self, osd: int, sig: int) -> None:
        pid = self.pid(osd)
        os.kill(pid, sig)
        _wait(f"osd.{osd} (pid {pid}) gone", lambda: not Path(f"/proc/{pid}").exists(), 0.1)

    def new_disk(self, osd: int) -> None:
        shutil.rmtree(self.data / f"osd.{osd}")
        _run([*self.cmd, "osd", "--mkfs", "-i", str(osd), "-c", self.conf])
        _run([*self.cmd, "osd", "-i", str(osd), "-c", self.conf])
        self.wait_up(osd)


class CephCluster(Cluster):
    def __init__(self, data: Path) -> None:
        self.data = data
        self.conf = str(data / "ceph.conf")

    def ceph(self, *args: str) -> str:
        return _run(["ceph", "-c", self.conf, *args])

    def kill(self, osd: int, sig: int) -> None:
        pid = int((self.data / "run" / f"osd.{osd}.pid").read_text())
        os.kill(pid, sig)
        _wait(f"osd.{osd} (pid {pid}) gone", lambda: not Path(f"/proc/{pid}").exists(), 0.1)

    def new_disk(self, osd: int) -> None:
        """As start.sh makes an OSD (ceph-volume needs real block devices)."""
        osd_dir = self.data / f"osd{osd}"
        shutil.rmtree(osd_dir)
        osd_dir.mkdir()
        osd_uuid = str(uuid.uuid4())
        secret = _run(["ceph-authtool", "--gen-print-key"]).strip()
        params = osd_dir / "new.json"
        params.write_text(json.dumps({"cephx_secret": secret}))
        self.ceph("osd", "new", osd_uuid, str(osd), "-i", str(params))
        params.unlink()
        _run(["ceph-osd", "-c", self.conf, "-i", str(osd), "--mkfs", "--key", secret,
              "--osd-uuid", osd_uuid])  # fmt: skip
        (osd_dir / "keyring").write_text(f"[osd.{osd}]\n\tkey = {secret}\n")
        _run(["ceph-osd", "-c", self.conf, "-i", str(osd)])
        self.wait_up(osd)


def bench_radospy(objects: int) -> dict[str, WayResult]:
    with tempfile.TemporaryDirectory(prefix="radospy-replace-") as tmp:
        data = Path(tmp) / "cluster"
        c = RadospyCluster(data)
        _run([*c.cmd, "up", "--mons", "1", "--osds", "5", "--rgw-port", "0", "--data", str(data),
              "--daemon"])  # fmt: skip
        try:

            def rados(*args: str) -> str:
                return _run([*c.cmd, "rados", "-c", c.conf, "-p", POOL, *args], timeout=900)

            fill(c, rados, objects)
            return {name: replace(c, steps) for name, steps in WAYS.items()}
        finally:
            # The replacement OSD is not in `up.pid`: stop it by the PID it wrote.
            pid_file = data / f"osd.{OSD}" / PID_FILE
            if pid_file.exists():
                subprocess.run(["kill", pid_file.read_text().strip()], check=False)
            _run([*c.cmd, "down", "--data", str(data)])


def bench_ceph(objects: int) -> dict[str, WayResult] | str:
    needed = ("ceph-osd", "ceph-mon", "ceph-mgr", "ceph-authtool", "rados", "ceph")
    missing = [b for b in needed if shutil.which(b) is None]
    if missing or not (REFERENCE / "start.sh").exists():
        return f"Ceph not installed ({', '.join(missing) or 'no start.sh'})"
    with tempfile.TemporaryDirectory(prefix="ceph-replace-") as tmp:
        data = Path(tmp) / "ceph"
        env = {**os.environ, "NUM_OSD": "5"}
        _run([str(REFERENCE / "start.sh"), "--new", str(data), "--no-rgw"], timeout=600, env=env)
        c = CephCluster(data)
        try:

            def rados(*args: str) -> str:
                return _run(["rados", "-c", c.conf, "-p", POOL, *args], timeout=900, cwd=tmp)

            fill(c, rados, objects)
            return {name: replace(c, steps) for name, steps in WAYS.items()}
        finally:
            # start.sh's pid files name the re-created OSD too: stop.sh stops it.
            subprocess.run([str(REFERENCE / "stop.sh"), str(data)], capture_output=True,
                           timeout=120, check=False)  # fmt: skip


def _cell(value: float | int | None, width: int, digits: int = 0) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=64, help="4 MiB objects (64: 256 MiB)")
    parser.add_argument("--no-ceph", action="store_true", help="skip the Ceph reference")
    args = parser.parse_args()
    ours = bench_radospy(args.objects)
    ref = "skipped (--no-ceph)" if args.no_ceph else bench_ceph(args.objects)
    print(f"replacing osd.{OSD} of 5, pool of {PG_NUM} PGs size 3, {args.objects} x 4 MiB")
    for way, result in ours.items():
        theirs = ref.get(way) if isinstance(ref, dict) else None
        print(f"\n{way}: PGs whose up set changed")
        print(f"| {'step':<34} | {'predicted':>9} | {'radospy':>7} | {'ceph':>7} |")
        print(f"| {'-' * 34} | {'-' * 8}: | {'-' * 6}: | {'-' * 6}: |")
        for label, (predicted, actual) in result.steps.items():
            ceph = theirs.steps[label][1] if theirs else None
            print(f"| {label:<34} | {_cell(predicted, 9)} | {actual:7d} | {_cell(ceph, 7)} |")
        rows = {
            "last step -> active+clean (s)": (result.last_to_clean, "last_to_clean"),
            "whole procedure (s)": (result.total, "total"),
        }
        for label, (value, attr) in rows.items():
            ceph_s = getattr(theirs, attr) if theirs else None
            print(f"| {label:<34} | {'':>9} | {value:7.1f} | {_cell(ceph_s, 7, 1)} |")
    if isinstance(ref, str):
        print(f"\nceph: {ref}")


if __name__ == "__main__":
    main()
