"""Real monitor processes on 127.0.0.1 for integration tests.

`MonCluster` writes a keyring, a monmap and a config file into a temporary directory,
creates and starts monitors as `radospy mon ...` processes, kills them by PID with
SIGKILL, and waits on conditions with deadlines (never sleeps as a means of
synchronisation), polling through one client kept for the cluster's life.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import radospy
from radospy.auth.crypto import CryptoKey
from radospy.auth.keyring import EntityAuth, EntityName, Keyring
from radospy.common.addr import Addr
from radospy.common.config import Config
from radospy.common.errors import RadosError
from radospy.mon.client import MonClientConfig, client_config
from radospy.mon.monmap import MonMap

REPO = Path(__file__).resolve().parents[2]


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free right now on 127.0.0.1."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_for(cond: Callable[[], Any], timeout: float, what: str, poll: float = 0.1) -> Any:
    """Poll ``cond`` until it returns something truthy; AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)


class MonCluster:
    """Monitors ``names`` with data under ``root``; every process is killed on close."""

    def __init__(self, root: Path, names: list[str]) -> None:
        self.root = root
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.keyring_path = root / "keyring"
        self.conf_path = root / "radospy.conf"
        keyring = Keyring()
        for entity, caps in (
            ("mon.", {"mon": "allow *"}),
            ("client.admin", {"mon": "allow *", "osd": "allow *"}),
            ("client.nocaps", {}),
        ):
            keyring.entities[EntityName.parse(entity)] = EntityAuth(
                CryptoKey.generate(time.time()), caps
            )
        self.keyring_path.write_text(keyring.to_text())
        monmap = MonMap.create()
        for name, port in self.ports.items():
            monmap.add(name, Addr("127.0.0.1", port))
        self.monmap_path = root / "monmap"
        self.monmap_path.write_bytes(monmap.encode())
        self._poller: radospy.Rados | None = None
        self._poller_lock = threading.Lock()
        self.write_conf(list(self.ports))

    def write_conf(self, names: list[str]) -> None:
        """Point ``mon_host`` at monitors ``names``."""
        hosts = ",".join(f"127.0.0.1:{self.ports[n]}" for n in names)
        self.conf_path.write_text(
            f"[global]\nmon_host = {hosts}\nkeyring = {self.keyring_path}\n"
            f"[mon]\nmon_data = {self.root}/mon.$id\n"
        )

    def run(self, tool: str, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``radospy TOOL ARGS`` (``mon`` or ``ceph``) to completion."""
        return subprocess.run(
            [sys.executable, "-m", "radospy.cli.main", tool, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
            env=self._env(),
        )

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("RADOSPY_CONF", None)
        env["PYTHONPATH"] = str(REPO)
        return env

    def mkfs(self, name: str, *extra: str) -> None:
        """``radospy mon --mkfs -i NAME``; asserts it worked."""
        res = self.run(
            "mon", "--mkfs", "-i", name, "-c", str(self.conf_path),
            "--monmap", str(self.monmap_path), "--keyring", str(self.keyring_path), *extra,
        )  # fmt: skip
        assert res.returncode == 0, res.stderr

    def start(self, name: str, *extra: str) -> None:
        """Start monitor ``name`` in the foreground, logging to ``root/mon.NAME.log``."""
        log = open(self.root / f"mon.{name}.log", "ab")  # noqa: SIM115 (owned by the child)
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "radospy.cli.main", "mon", "-i", name,
             "-c", str(self.conf_path), "--foreground", *extra],
            stdout=log, stderr=log, cwd=self.root, env=self._env(),
        )  # fmt: skip
        log.close()

    def kill(self, name: str) -> None:
        """SIGKILL monitor ``name`` (a process this cluster started)."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def close(self) -> None:
        """Stop the polling client and kill every monitor still running."""
        self.close_poller()
        for name in list(self.procs):
            self.kill(name)

    def close_poller(self) -> None:
        """Shut the polling client down (the next poll connects a new one)."""
        with self._poller_lock:
            poller, self._poller = self._poller, None
        if poller is not None:
            poller.shutdown()

    def poll_json(self, prefix: str, **args: Any) -> Any:
        """A monitor command's JSON answer through one client kept for the cluster's
        life, or None when it fails or times out. For the condition checks that tests
        repeat every fraction of a second: a ``radospy ceph`` process costs ~0.4 s of
        CPU to start, which the daemons under test then lack on a 2-core machine."""
        rc, out, _ = self.mon_command(prefix, timeout=10, format="json", **args)
        return json.loads(out) if rc == 0 else None

    def mon_command(self, prefix: str, timeout: int = 30, **args: Any) -> tuple[int, bytes, str]:
        """A monitor command through the polling client (see `poll_json`): (rc, output,
        status or error); a client that cannot reach the monitors gives its errno."""
        try:
            with self._poller_lock:
                if self._poller is None:
                    poller = radospy.Rados(conffile=str(self.conf_path))
                    poller.connect(timeout=10)
                    self._poller = poller
                client = self._poller
            cmd = json.dumps({"prefix": prefix, **args})
            rc, out, status = client.mon_command(cmd, timeout=timeout)
        except RadosError as exc:
            return -exc.errno, b"", str(exc)
        return rc, out, status

    def ceph(self, *words: str, entity: str = "client.admin", timeout: float = 20.0) -> Any:
        """``radospy ceph WORDS`` as ``entity``; (exit code, stdout, stderr)."""
        res = self.run(
            "ceph", "-c", str(self.conf_path), "-n", entity,
            "--connect-timeout", str(timeout), *words,
            timeout=timeout + 30,
        )  # fmt: skip
        return res.returncode, res.stdout, res.stderr

    def ceph_ok(self, *words: str) -> str:
        """``radospy ceph WORDS``'s stdout, asserting it succeeded."""
        rc, out, err = self.ceph(*words)
        assert rc == 0, (words, err)
        return out

    def quorum(self, timeout: float = 20.0) -> dict[str, Any]:
        """``quorum_status`` once some monitor leads (through the polling client)."""
        result: dict[str, Any] = wait_for(
            lambda: self.poll_json("quorum_status"), timeout, "a leader"
        )
        return result

    def client_config(self, timeout: float = 20.0) -> MonClientConfig:
        """A MonClient configuration for client.admin."""
        config = Config("client.admin")
        config.load_file(self.conf_path)
        return client_config(config, timeout)
