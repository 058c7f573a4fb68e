"""`radospy rados bench` and `cleanup` end to end against real daemons: a write run
leaves Ceph-named objects and its metadata, seq and rand read them back verified, and
cleanup removes them; bad arguments get Ceph's errors and change nothing."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.rados_cluster import RadosCluster, running

POOL = "benchpool"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(tmp_path_factory.mktemp("bench"), num_osds=3)
    with running(c, {POOL: 8}) as c:
        yield c


def _ls(cluster: RadosCluster) -> list[str]:
    rc, out, err = cluster.rados("-p", POOL, "ls")
    assert rc == 0, err
    return sorted(out.decode().split())


def test_write_seq_rand_cleanup(cluster: RadosCluster) -> None:
    rc, out, err = cluster.rados(
        "-p", POOL, "bench", "2", "write", "-b", "4K", "-t", "4", "--no-cleanup"
    )
    assert rc == 0, err
    text = out.decode()
    lines = text.splitlines()
    assert lines[0] == "hints = 1"
    assert lines[1] == (
        "Maintaining 4 concurrent writes of 4096 bytes to objects of size 4096"
        " for up to 2 seconds or 0 objects"
    )
    prefix = re.fullmatch(r"Object prefix: (benchmark_data_(.+)_(\d+))", lines[2])
    assert prefix is not None and prefix.group(2) == socket.gethostname()[:29]
    assert lines[3] == (
        "  sec Cur ops   started  finished  avg MB/s  cur MB/s last lat(s)  avg lat(s)"
    )
    made = int(re.search(r"^Total writes made: +(\d+)$", text, re.M).group(1))  # type: ignore[union-attr]
    assert made > 0
    assert re.search(r"^Average IOPS: +\d+$", text, re.M)
    names = _ls(cluster)
    assert "benchmark_last_metadata" in names
    assert sorted(n for n in names if n.startswith("benchmark_data")) == sorted(
        f"{prefix.group(1)}_object{i}" for i in range(made)
    )
    rc, data, err = cluster.rados("-p", POOL, "get", f"{prefix.group(1)}_object3", "-")
    assert rc == 0, err
    assert data.startswith(b"I'm the                3th op!\0z") and len(data) == 4096

    for mode in ("seq", "rand"):
        rc, out, err = cluster.rados("-p", POOL, "bench", "1", mode, "-t", "4")
        assert rc == 0, err + out.decode()
        assert "is not correct" not in err
        reads = re.search(r"^Total reads made: +(\d+)$", out.decode(), re.M)
        assert reads is not None and int(reads.group(1)) > 0
        assert re.search(r"^Read size: +4096$", out.decode(), re.M)

    rc, out, err = cluster.rados("-p", POOL, "cleanup")
    assert rc == 0, err
    assert out.decode() == f"Removed {made} object{'s' if made != 1 else ''}\n"
    assert _ls(cluster) == []


def test_write_cleans_up_after_itself(cluster: RadosCluster) -> None:
    rc, out, err = cluster.rados(
        "-p", POOL, "bench", "1", "write", "-b", "1K", "-O", "4K", "-t", "2", "--run-name", "r1"
    )
    assert rc == 0, err
    text = out.decode()
    assert "Cleaning up (deleting benchmark objects)\nRemoved " in text
    assert re.search(r"^Clean up completed and total clean up time :[\d.e-]+$", text, re.M)
    assert "Write size:             1024\nObject size:            4096\n" in text
    assert _ls(cluster) == []


def test_bad_arguments_change_nothing(cluster: RadosCluster) -> None:
    rc, _, err = cluster.rados("-p", POOL, "bench", "2", "seq")
    assert rc == 1
    assert err == (
        "Must write data before running a read benchmark!\n"
        "error during benchmark: (2) No such file or directory\n"
        "error 2: (2) No such file or directory\n"
    )
    cases = {
        ("bench", "x", "write"): "Invalid value for seconds: 'x'\n",
        ("bench", "1", "write", "-b", "abc"): (
            "Invalid value for block-size: strict_iecstrtoll: illegal prefix (length > 2)\n"
        ),
        ("bench", "1", "write", "-t", "0"): (
            "error during benchmark: (22) Invalid argument\nerror 22: (22) Invalid argument\n"
        ),
        ("cleanup", "--prefix", "foo"): (
            'Specified --prefix invalid, it must begin with "benchmark_data"\n'
            "error during cleanup: (22) Invalid argument\nerror 22: (22) Invalid argument\n"
        ),
    }
    for args, expected in cases.items():
        rc, _, err = cluster.rados("-p", POOL, *args)
        assert (rc, err) == (1, expected), args
    rc, _, err = cluster.rados("-p", POOL, "bench", "1")
    assert rc == 1 and err.startswith("usage: rados bench <seconds> write|seq|rand")
    rc, _, err = cluster.rados("-p", "nopool", "bench", "1", "write")
    assert (rc, err) == (1, "error opening pool nopool: (2) No such file or directory\n")
    assert _ls(cluster) == []


def test_cleanup_without_metadata_searches_by_prefix(cluster: RadosCluster, tmp_path: Path) -> None:
    src = tmp_path / "obj"
    src.write_bytes(b"x")
    for name in ("benchmark_data_other_1_object0", "benchmark_data_other_1_object1", "keep"):
        rc, _, err = cluster.rados("-p", POOL, "put", name, str(src))
        assert rc == 0, err
    rc, out, err = cluster.rados("-p", POOL, "cleanup", "--prefix", "benchmark_data_other")
    assert rc == 0, err
    assert out.decode() == "Warning: using slow linear search\nRemoved 2 objects\n"
    assert _ls(cluster) == ["keep"]
