"""`radospy up` / `radospy down` with real processes: bootstrap, restart, refusals, Ctrl-C.

Every test passes `--base-port` (never the default), so it cannot meet a cluster someone
runs on the machine. Daemons are found through `up.pid` (`--daemon`) or as children of
the `radospy up` process, and whatever a failed test leaves behind is stopped by those
PIDs only.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.integration.cluster import REPO, wait_for

UP = (sys.executable, "-m", "radospy.cli.main", "up")
DOWN = (sys.executable, "-m", "radospy.cli.down")
CEPH = (sys.executable, "-m", "radospy.cli.main", "ceph")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RADOSPY_CONF", None)
    env["PYTHONPATH"] = str(REPO)
    return env


def _run(*argv: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=_env(), cwd=REPO
    )


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _base_port(count: int = 3) -> int:
    """A port p with p .. p+count-1 free right now."""

    def find() -> int | None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        ok = base + count <= 65535 and all(_free(p) for p in range(base, base + count))
        return base if ok else None

    port: int = wait_for(find, 10, "free ports", poll=0)
    return port


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _recorded_pids(data: Path) -> list[int]:
    return [d["pid"] for d in json.loads((data / "up.pid").read_text())]


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


@pytest.fixture
def clusters() -> Iterator[list[Path]]:
    """Data directories of clusters started with --daemon: stopped at the end."""
    dirs: list[Path] = []
    yield dirs
    for data in dirs:
        if (data / "up.pid").exists():
            _run(*DOWN, "--data", str(data))


def _ceph(data: Path, *words: str) -> tuple[int, str, str]:
    res = _run(*CEPH, "-c", str(data / "radospy.conf"), "--connect-timeout", "20", *words)
    return res.returncode, res.stdout, res.stderr


def _check_gateway(stdout: str, bucket: str) -> list[str]:
    """Use the S3 gateway `radospy up` announced, with the keys it printed: create
    `bucket`; the buckets the default user has."""
    fields = dict(
        line.strip().split(":", 1) for line in stdout.splitlines()
        if line.strip().startswith(("S3 gateway:", "access key:", "secret key:"))
    )
    s3 = boto3.client(
        "s3", endpoint_url=fields["S3 gateway"].split()[0], region_name="us-east-1",
        aws_access_key_id=fields["access key"].strip(),
        aws_secret_access_key=fields["secret key"].strip(),
    )  # fmt: skip
    s3.create_bucket(Bucket=bucket)
    return [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_daemon_up_ceph_down_and_restart(tmp_path: Path, clusters: list[Path]) -> None:
    data = tmp_path / "cluster"
    clusters.append(data)
    res = _run(*UP, "--daemon", "--data", str(data), "--osds", "2", "--hosts", "2",
               "--base-port", str(_base_port()))  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"conf:          {data}/radospy.conf" in res.stdout
    assert f"radospy ceph -c {data}/radospy.conf -s" in res.stdout
    assert "2 OSDs up on 2 CRUSH hosts" in res.stdout
    _check_gateway(res.stdout, "made-by-up")

    rc, out, err = _ceph(data, "-s")
    assert rc == 0 and "health: HEALTH_OK" in out, err
    assert "2 osds: 2 up" in out
    rc, out, err = _ceph(data, "quorum_status")
    assert rc == 0, err
    assert sorted(json.loads(out)["quorum_names"]) == ["a", "b", "c"]
    rc, fsid, err = _ceph(data, "fsid")
    assert rc == 0, err
    rc, out, err = _ceph(data, "osd", "tree")
    assert rc == 0 and "host host0" in out and "host host1" in out, err

    # A running cluster is not started twice.
    again = _run(*UP, "--daemon", "--data", str(data))
    assert again.returncode == 1
    assert "running already" in again.stderr and len(again.stderr.splitlines()) == 1

    pids = _recorded_pids(data)
    assert len(pids) == 6
    res = _run(*DOWN, "--data", str(data))
    assert res.returncode == 0, res.stderr
    assert "stopped 6 daemons" in res.stdout and "client.rgw" in res.stdout
    assert not any(_alive(pid) for pid in pids)
    assert not (data / "up.pid").exists()

    # The same directory brings the same cluster back, OSDs included.
    res = _run(*UP, "--daemon", "--data", str(data))
    assert res.returncode == 0, res.stderr
    assert "restarted" in res.stdout
    rc, again_fsid, err = _ceph(data, "fsid")
    assert rc == 0 and again_fsid == fsid, err
    rc, out, err = _ceph(data, "osd", "stat")
    assert rc == 0 and "2 osds: 2 up" in out, err
    # The default user and its bucket outlive the restart.
    assert "made-by-up" in _check_gateway(res.stdout, "second-bucket")
    pids = _recorded_pids(data)
    assert _run(*DOWN, "--data", str(data)).returncode == 0
    assert not any(_alive(pid) for pid in pids)


def test_foreground_status_and_sigint(tmp_path: Path) -> None:
    data = tmp_path / "fg"
    proc = subprocess.Popen(
        [*UP, "--data", str(data), "--osds", "0", "--base-port", str(_base_port())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=REPO,
    )  # fmt: skip
    assert proc.stdout is not None
    daemons: list[int] = []
    try:
        out = b""
        deadline = time.monotonic() + 60
        while b"status: HEALTH_OK; mons 3/3 in quorum" not in out:
            remaining = deadline - time.monotonic()
            assert remaining > 0 and proc.poll() is None, out.decode() + proc.stderr.read().decode()
            ready, _, _ = select.select([proc.stdout], [], [], remaining)
            if ready:
                out += os.read(proc.stdout.fileno(), 65536)
        assert b"0 OSDs" in out
        daemons = _children(proc.pid)
        assert len(daemons) == 3
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        assert b"radospy up: stopped" in rest and not err
        assert not any(_alive(pid) for pid in daemons)
    finally:
        if proc.poll() is None:
            # Its daemons die with it (PR_SET_PDEATHSIG).
            proc.kill()
            proc.wait()
        wait_for(lambda: not any(_alive(pid) for pid in daemons), 30, "daemons to exit")


def test_port_in_use_is_refused(tmp_path: Path) -> None:
    base = _base_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", base + 1))
        busy.listen()
        res = _run(*UP, "--data", str(tmp_path / "c"), "--base-port", str(base))
    assert res.returncode == 1
    assert res.stderr == (
        f"radospy up: error: port 127.0.0.1:{base + 1} is already in use: "
        "choose another --base-port\n"
    )
    assert not (tmp_path / "c").exists()


def test_corrupt_or_foreign_directory_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "bad"
    data.mkdir()
    (data / "radospy.conf").write_text("[global]\nfsid = not-a-uuid\n")
    before = sorted(p.name for p in data.iterdir())
    res = _run(*UP, "--data", str(data), "--base-port", str(_base_port()))
    assert res.returncode == 1
    assert res.stderr.startswith("radospy up: error: corrupt cluster directory: ")
    assert len(res.stderr.splitlines()) == 1
    assert sorted(p.name for p in data.iterdir()) == before

    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine\n")
    res = _run(*UP, "--data", str(other))
    assert res.returncode == 1
    assert "not a cluster directory" in res.stderr and len(res.stderr.splitlines()) == 1

    res = _run(*DOWN, "--data", str(other))
    assert res.returncode == 1 and "holds no cluster" in res.stderr
