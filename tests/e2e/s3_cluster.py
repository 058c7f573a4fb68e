"""A real cluster plus real `radospy rgw` processes on 127.0.0.1, for S3 clients.

`S3Cluster` brings up monitors and OSDs (`RadosCluster`), creates gateway users with
`radospy radosgw-admin`, and starts gateways as `radospy rgw` processes; it waits for
each to answer on its port and stops them by the PIDs it started.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.integration.cluster import free_ports, wait_for
from tests.integration.rados_cluster import RadosCluster


class S3Cluster(RadosCluster):
    """A cluster with `gateways` S3 gateways."""

    def __init__(self, root: Path, num_osds: int = 3) -> None:
        super().__init__(root, num_osds=num_osds)
        self.gateways: dict[int, subprocess.Popen[bytes]] = {}

    def admin(self, *args: str) -> Any:
        """`radospy radosgw-admin ARGS` as JSON; asserts it succeeded."""
        res = self.run_tool("radosgw-admin", "-c", str(self.conf_path), *args, timeout=120)
        assert res.returncode == 0, res.stderr.decode()
        return json.loads(res.stdout) if res.stdout.strip() else None

    def create_user(self, uid: str, access_key: str, secret: str) -> None:
        """A gateway user with one given key pair."""
        self.admin("user", "create", "--uid", uid, "--display-name", uid.title(),
                   "--access-key", access_key, "--secret", secret)

    def start_gateway(self, *extra: str) -> str:
        """Start one `radospy rgw` with `extra` arguments; its endpoint URL once it
        accepts connections (https:// when `extra` gives it a certificate)."""
        port = free_ports(1)[0]
        log = open(self.root / f"rgw.{port}.log", "ab")  # noqa: SIM115 (owned by the child)
        self.gateways[port] = subprocess.Popen(
            [sys.executable, "-m", "radospy.cli.main", "rgw", "-c", str(self.conf_path),
             "--port", str(port), *extra],
            stdout=log, stderr=log, cwd=self.root, env=self._env(),
        )  # fmt: skip
        log.close()

        def accepting() -> bool:
            assert self.gateways[port].poll() is None, "radospy rgw exited"
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return True
            except OSError:
                return False

        wait_for(accepting, 60, f"radospy rgw on port {port}")
        scheme = "https" if "--ssl-certificate" in extra else "http"
        return f"{scheme}://127.0.0.1:{port}"

    def kill_gateway(self, url: str) -> None:
        """SIGKILL the gateway serving `url` (one this cluster started)."""
        port = int(url.rsplit(":", 1)[1])
        proc = self.gateways.pop(port)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def close(self) -> None:
        """Stop every gateway, then the cluster."""
        for port in list(self.gateways):
            proc = self.gateways.pop(port)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        super().close()
