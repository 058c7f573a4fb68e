"""Connection modes on real processes: 3 monitors and 3 OSDs whose connections among
themselves are in secure mode (``ms_cluster_mode = secure``), with clients in crc mode
(Ceph's default) unless they ask for secure. In crc mode clients still authenticate and
their caps still decide what they may do."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import radospy
from radospy.auth.crypto import CryptoKey
from radospy.auth.keyring import EntityAuth, EntityName, Keyring
from tests.integration.rados_cluster import RadosCluster, running

POOL = "modes"


SECURE = {"ms_cluster_mode": "secure"}
"""The daemons talk to each other in secure mode only."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(tmp_path_factory.mktemp("modes"), num_osds=3, mon_conf=SECURE, osd_conf=SECURE)
    with running(c, {POOL: 8}) as c:
        yield c


def _modes(cluster: RadosCluster, pattern: str) -> set[str]:
    """The modes of every handshake logged by any daemon matching ``pattern`` (a
    regular expression for the part before ``(session``)."""
    found = set()
    line = re.compile(pattern + r"@\S+ \(session \S+ \w+, mode (\w+)\)")
    for log in Path(cluster.root).rglob("*.log"):
        found |= set(line.findall(log.read_text(errors="replace")))
    return found


def _round_trip(cluster: RadosCluster, conf: dict[str, str], name: str) -> None:
    """Write and read back an object as client ``name`` with ``conf`` set."""
    r = radospy.Rados(
        conffile=str(cluster.conf_path), conf={"rados_osd_op_timeout": "60", **conf}, name=name
    )
    r.connect(timeout=30)
    try:
        ioctx = r.open_ioctx(POOL)
        data = name.encode() * 5000
        ioctx.write_full(name, data)
        assert ioctx.read(name, len(data) + 1) == data
        ioctx.close()
    finally:
        r.shutdown()


def _user(cluster: RadosCluster, name: str, osd_caps: str, keyring: Path) -> str:
    """Create ``name`` with ``mon 'allow r'`` and ``osd_caps``; its keyring text."""
    rc, out, err = cluster.ceph("auth", "get-or-create", name, "mon", "allow r", "osd", osd_caps)
    assert rc == 0, err
    keyring.write_text(out)
    return out


def test_daemons_in_secure_mode_clients_in_crc(cluster: RadosCluster) -> None:
    _round_trip(cluster, {}, "client.admin")
    # Replication (a pool of size 3) and the OSDs' monitor sessions: signed frames.
    assert _modes(cluster, r"osd\.\d: (?:connected to|accepted) osd\.\d") == {"secure"}
    assert _modes(cluster, r"osd\.\d: connected to mon\.\w") == {"secure"}
    assert _modes(cluster, r"(?:osd\.\d|mon\.\w): accepted client\.admin") == {"crc"}


def test_a_client_may_ask_for_secure(cluster: RadosCluster, tmp_path: Path) -> None:
    keyring = tmp_path / "sec.keyring"
    _user(cluster, "client.sec", f"allow rw pool={POOL}", keyring)
    _round_trip(cluster, {"ms_client_mode": "secure", "keyring": str(keyring)}, "client.sec")
    assert _modes(cluster, r"(?:osd\.\d|mon\.\w): accepted client\.sec") == {"secure"}


def test_crc_mode_still_needs_keys_and_caps(cluster: RadosCluster, tmp_path: Path) -> None:
    keyring = tmp_path / "reader.keyring"
    _user(cluster, "client.reader", f"allow r pool={POOL}", keyring)
    rc, _, err = cluster.rados("-p", POOL, "put", "obj", "-", stdin=b"admin's")
    assert rc == 0, err
    reader = ("-n", "client.reader", "--keyring", str(keyring), "-p", POOL)
    rc, got, err = cluster.rados(*reader, "get", "obj", "-")
    assert (rc, got) == (0, b"admin's"), err
    rc, _, err = cluster.rados(*reader, "put", "obj", "-", stdin=b"reader's")
    assert rc != 0 and "Operation not permitted" in err and "Traceback" not in err
    rc, got, err = cluster.rados("-p", POOL, "get", "obj", "-")
    assert (rc, got) == (0, b"admin's"), err
    # A key the monitors do not know gets no session, crc or not.
    wrong = Keyring()
    wrong.entities[EntityName.parse("client.reader")] = EntityAuth(
        CryptoKey.generate(time.time()), {}
    )
    keyring.write_text(wrong.to_text())
    rc, _, err = cluster.rados(*reader, "get", "obj", "-")
    assert rc != 0 and "Traceback" not in err
    assert "Permission denied" in err or "permission denied" in err, err


def test_unknown_mode_is_a_clear_error(cluster: RadosCluster) -> None:
    rc, _, err = cluster.rados("--ms_client_mode", "fast", "lspools")
    assert rc != 0 and "Traceback" not in err
    assert err == "couldn't connect to cluster: (22) Invalid argument\n"
    res = cluster.run_tool("osd", "-i", "0", "-c", str(cluster.conf_path), "--ms_cluster_mode", "")
    assert res.returncode != 0 and b"Traceback" not in res.stderr
    assert b"invalid ms_cluster_mode ''" in res.stderr, res.stderr
