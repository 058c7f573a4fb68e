"""A whole cluster of real processes on 127.0.0.1: monitors (from `MonCluster`) and OSDs.

Each OSD gets its own CRUSH host (`crush_location = host=hN`), so pools of size 3 place
their replicas on three OSDs of one machine. Processes are started as `radospy osd`,
stopped by the PIDs this module started, and waited on with deadlines.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import radospy
from tests.integration.cluster import MonCluster, wait_for

FAST_FAILURE = {
    "osd_heartbeat_interval": "1",
    "osd_heartbeat_grace": "6",
    "osd_mon_report_interval": "1",
    "osd_beacon_report_interval": "1",
    "mon_tick_interval": "1",
}
"""`RadosCluster(fast_failure=True)`: failures detected and reported in seconds, not
minutes (Ceph's defaults: heartbeats every 6 s, a grace of 20 s, beacons every 300 s,
monitor ticks every 5 s)."""


class RadosCluster(MonCluster):
    """3 monitors and ``num_osds`` OSDs with data under ``root``."""

    def __init__(
        self,
        root: Path,
        num_osds: int = 3,
        mons: tuple[str, ...] = ("a", "b", "c"),
        osd_conf: dict[str, str] | None = None,
        per_osd_conf: dict[int, dict[str, str]] | None = None,
        mon_conf: dict[str, str] | None = None,
        fast_failure: bool = False,
        heartbeat_grace: int | None = None,
    ):
        self.osd_conf = osd_conf or {}
        """Options for every OSD's ``[osd]`` section."""
        self.per_osd_conf = per_osd_conf or {}
        """Options for one OSD's ``[osd.N]`` section."""
        self.mon_conf = mon_conf or {}
        """Options for every monitor's ``[mon]`` section."""
        self.global_conf = dict(FAST_FAILURE) if fast_failure else {}
        """Options for the ``[global]`` section: `FAST_FAILURE` with ``fast_failure``."""
        if heartbeat_grace is not None:
            # Both sides read it: an OSD reports a silent peer after it, a monitor
            # marks the peer down after it.
            self.global_conf["osd_heartbeat_grace"] = str(heartbeat_grace)
        super().__init__(root, list(mons))
        self.num_osds = num_osds
        self.osd_procs: dict[int, subprocess.Popen[bytes]] = {}

    def write_conf(self, names: list[str]) -> None:
        super().write_conf(names)
        osds = "".join(
            f"[osd.{i}]\ncrush_location = host=h{i}\n"
            + _lines(getattr(self, "per_osd_conf", {}).get(i, {}))
            for i in range(getattr(self, "num_osds", 0))
        )
        # Reports every second (Ceph's default is 5): the PG states that tests wait
        # for reach the monitors sooner.
        conf = {"osd_mon_report_interval": "1", **getattr(self, "osd_conf", {})}
        common = _lines(conf)
        everyone = _lines(getattr(self, "global_conf", {}))
        mons = _lines(getattr(self, "mon_conf", {}))
        with open(self.conf_path, "a") as f:
            f.write(
                f"[global]\nmon_allow_pool_delete = true\nosd_pool_default_size = 3\n{everyone}"
                f"[mon]\n{mons}[osd]\nosd_data = {self.root}/osd.$id\n{common}{osds}"
            )

    def run_tool(
        self, tool: str, *args: str, timeout: float = 60.0, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """``radospy TOOL ARGS`` with this cluster's environment."""
        return subprocess.run(
            [sys.executable, "-m", "radospy.cli.main", tool, *args],
            capture_output=True,
            timeout=timeout,
            cwd=self.root,
            env=self._env(),
            input=stdin,
        )

    def bring_up(self) -> None:
        """Monitors, then every OSD (mkfs + start), then wait until all OSDs are up."""
        self.write_conf(list(self.ports))
        for name in self.ports:
            self.mkfs(name)
            self.start(name)
        self.quorum(timeout=30)
        rc, _, err = self.ceph("config", "set", "mon", "mon_allow_pool_delete", "true")
        assert rc == 0, err
        # The OSDs' mkfs (each registers with the monitors) run side by side.
        mkfs = []
        for osd in range(self.num_osds):
            mkfs.append(subprocess.Popen(
                [sys.executable, "-m", "radospy.cli.main", "osd", "--mkfs", "-i", str(osd),
                 "-c", str(self.conf_path)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.root, env=self._env(),
            ))  # fmt: skip
        for osd, proc in enumerate(mkfs):
            _, err_bytes = proc.communicate(timeout=60)
            assert proc.returncode == 0, err_bytes.decode()
            self.start_osd(osd)
        self.wait_osds_up(self.num_osds)

    def start_osd(self, osd: int) -> None:
        """Start OSD ``osd`` in the foreground, logging to ``root/osd.N.log``."""
        log = open(self.root / f"osd.{osd}.log", "ab")  # noqa: SIM115 (owned by the child)
        self.osd_procs[osd] = subprocess.Popen(
            [sys.executable, "-m", "radospy.cli.main", "osd", "-i", str(osd),
             "-c", str(self.conf_path), "--foreground"],
            stdout=log, stderr=log, cwd=self.root, env=self._env(),
        )  # fmt: skip
        log.close()

    def stop_osd(self, osd: int, sig: int = signal.SIGTERM) -> None:
        """Stop OSD ``osd`` (a process this cluster started) and wait for it."""
        proc = self.osd_procs.pop(osd)
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def wait_osds_up(self, count: int, timeout: float = 60.0) -> None:
        """Wait until ``count`` OSDs are up in the OSDMap."""

        def up() -> bool:
            dump = self.poll_json("osd dump")
            return dump is not None and sum(o["up"] for o in dump["osds"]) >= count

        wait_for(up, timeout, f"{count} OSDs up")

    def kill_and_mark_down(self, *osds: int) -> None:
        """SIGKILL ``osds``, mark them down with one ``osd down`` and wait until the
        OSDMap has them down (not waiting for the heartbeat grace)."""
        for osd in osds:
            self.stop_osd(osd, signal.SIGKILL)
        rc, _, err = self.ceph("osd", "down", *map(str, osds))
        assert rc == 0, err

        def down() -> bool:
            dump = self.poll_json("osd dump")
            return dump is not None and not any(o["up"] for o in dump["osds"] if o["osd"] in osds)

        wait_for(down, 60, " and ".join(f"osd.{o}" for o in osds) + " down")

    def rados(self, *args: str, stdin: bytes | None = None) -> tuple[int, bytes, str]:
        """``radospy rados -c CONF ARGS``: (exit code, stdout bytes, stderr)."""
        res = self.run_tool("rados", "-c", str(self.conf_path), *args, stdin=stdin, timeout=90)
        return res.returncode, res.stdout, res.stderr.decode()

    def close(self) -> None:
        """Stop the polling client and every OSD, then kill every monitor."""
        self.close_poller()
        for osd in list(self.osd_procs):
            self.stop_osd(osd)
        super().close()

    def info(self) -> dict[str, Any]:
        """Where things are, for failure messages."""
        return {"root": str(self.root), "osds": sorted(self.osd_procs)}


def _lines(options: dict[str, str]) -> str:
    return "".join(f"{k} = {v}\n" for k, v in options.items())


@contextmanager
def running(cluster: RadosCluster, pools: dict[str, int]) -> Iterator[RadosCluster]:
    """`cluster` brought up with `pools` (name → pg_num) created; closed on the way out."""
    try:
        cluster.bring_up()
        for name, pg_num in pools.items():
            rc, _, err = cluster.ceph("osd", "pool", "create", name, str(pg_num))
            assert rc == 0, err
        yield cluster
    finally:
        cluster.close()


@contextmanager
def connected(cluster: RadosCluster, op_timeout: int = 60) -> Iterator[radospy.Rados]:
    """A client of `cluster` with a generous op timeout (the test machine is loaded)."""
    conf = {"rados_osd_op_timeout": str(op_timeout)}
    r = radospy.Rados(conffile=str(cluster.conf_path), conf=conf)
    r.connect(timeout=30)
    try:
        yield r
    finally:
        r.shutdown()


@asynccontextmanager
async def async_connected(cluster: RadosCluster) -> AsyncIterator[radospy.AsyncRados]:
    """An asyncio client of `cluster`, shut down on the way out."""
    rados = radospy.AsyncRados(radospy.Rados(conffile=str(cluster.conf_path)).config)
    await rados.connect(30)
    try:
        yield rados
    finally:
        await rados.shutdown()
