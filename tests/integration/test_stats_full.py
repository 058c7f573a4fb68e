"""Usage statistics, pool quotas and full ratios end to end: 3 monitors and 3 OSDs as
real processes, each OSD reporting every second and sized to 48 MiB (``osd_capacity``)
so that the last test can fill them.

Every write a test had acknowledged is read back intact after the cluster refused
further writes, and deleting objects brings the pool back under its limit.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from typing import Any

import pytest

import radospy
from tests.integration.cluster import wait_for
from tests.integration.rados_cluster import RadosCluster, connected

MIB = 1 << 20
CAPACITY = 48 * MIB
DEADLINE = 60.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadosCluster]:
    c = RadosCluster(
        tmp_path_factory.mktemp("stats"),
        num_osds=3,
        osd_conf={"osd_mon_report_interval": "1", "osd_capacity": str(CAPACITY)},
    )
    try:
        c.bring_up()
        yield c
    finally:
        c.close()


@pytest.fixture(scope="module")
def client(cluster: RadosCluster) -> Iterator[radospy.Rados]:
    with connected(cluster) as r:
        yield r


def _ceph_json(cluster: RadosCluster, *words: str) -> Any:
    rc, out, err = cluster.ceph(*words, "--format", "json")
    assert rc == 0, err
    return json.loads(out)


# What the tests ask again and again goes through the cluster's polling client, not a
# `radospy ceph` process per poll (~0.3 s of CPU each, which the daemons then lack).


def _pool_df(cluster: RadosCluster, name: str) -> dict[str, Any] | None:
    """``df detail``'s stats of pool ``name``; None when the monitors cannot be asked."""
    df = cluster.poll_json("df", detail="detail")
    if df is None:
        return None
    return dict(next(p["stats"] for p in df["pools"] if p["name"] == name))


def _create_pool(cluster: RadosCluster, name: str, pg_num: int = 8) -> None:
    rc, _, err = cluster.ceph("osd", "pool", "create", name, str(pg_num))
    assert rc == 0, err


def _full_state(cluster: RadosCluster) -> str:
    """What the monitors think of fullness: the OSDs' and pools' full flags, each
    OSD's reported usage and the health checks (a timed-out wait says this)."""
    lines = []
    rc, out, err = cluster.ceph("osd", "dump", "--format", "json", timeout=10)
    if rc == 0:
        dump = json.loads(out)
        lines.append(f"epoch {dump['epoch']}")
        lines += [f"osd.{o['osd']} {o['state']}" for o in dump["osds"]]
        lines += [f"pool '{p['pool_name']}' flags {p['flags_names']}" for p in dump["pools"]]
    else:
        lines.append(f"osd dump: {err}")
    for words in (("osd", "df"), ("health", "detail")):
        rc, out, err = cluster.ceph(*words, timeout=10)
        lines.append(out if rc == 0 else f"{' '.join(words)}: {err}")
    return "\n".join(lines)


def _wait_refusal_ends(
    cluster: RadosCluster, ioctx: radospy.Ioctx, name: str, code: int, what: str
) -> None:
    try:
        wait_for(lambda: not _refused(ioctx, name, b"resumed", code), DEADLINE, what, poll=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{_full_state(cluster)}") from None


def _refused(ioctx: radospy.Ioctx, name: str, data: bytes, code: int) -> bool:
    """Write; True if refused with ``code``, False if acknowledged."""
    try:
        ioctx.write_full(name, data)
    except radospy.Error as exc:
        assert exc.errno == code, exc
        return True
    return False


def test_df_figures_follow_what_was_written(cluster: RadosCluster, client: radospy.Rados) -> None:
    _create_pool(cluster, "stats")
    sizes = {f"obj-{i}": 1000 * (i + 1) for i in range(12)}
    with client.open_ioctx("stats") as ioctx:
        for name, size in sizes.items():
            ioctx.write_full(name, bytes([size % 251]) * size)
        ioctx.remove_object("obj-0")
    del sizes["obj-0"]

    def settled() -> dict[str, Any] | None:
        # Each PG's primary reports on its own schedule: the count can already be right
        # while one PG still reports the removed object and another not yet its new one.
        stats = _pool_df(cluster, "stats")
        if stats is None:
            return None
        counted = stats["objects"] == len(sizes)
        stored = stats["stored"] >= sum(sizes.values())
        used = stats["bytes_used"] >= 3 * sum(sizes.values())
        return stats if counted and stored and used else None

    wait_for(settled, DEADLINE, "ceph df to count the objects and their bytes")
    osd_df = _ceph_json(cluster, "osd", "df")
    assert [n["kb"] for n in osd_df["nodes"]] == [CAPACITY // 1024] * 3
    assert all(n["kb_used"] > 0 and n["pgs"] > 0 for n in osd_df["nodes"])
    rc, out, err = cluster.ceph("df")
    assert rc == 0, err
    assert "--- RAW STORAGE ---" in out and "--- POOLS ---" in out
    assert "TOTAL  144 MiB" in out
    rc, out, err = cluster.ceph("-s")
    assert rc == 0, err
    assert "    pools:   1 pools, 8 pgs\n" in out
    assert f"    objects: {len(sizes)} objects," in out
    assert "/ 144 MiB avail" in out
    assert "active+clean" in out
    rc, raw, err = cluster.rados("df", "--format", "json")
    assert rc == 0, err
    doc = json.loads(raw)
    pool = next(p for p in doc["pools"] if p["name"] == "stats")
    assert pool["num_objects"] == len(sizes)
    assert pool["num_object_copies"] == 3 * len(sizes)
    assert doc["total_space"] == 3 * CAPACITY // 1024
    rc, raw, err = cluster.rados("df")
    assert rc == 0, err
    assert raw.decode().splitlines()[0].split()[:3] == ["POOL_NAME", "USED", "OBJECTS"]
    assert client.get_cluster_stats()["num_objects"] >= len(sizes)
    with client.open_ioctx("stats") as ioctx:
        assert ioctx.get_stats()["num_objects"] == len(sizes)


def test_a_new_leader_learns_the_stats_from_the_next_reports(cluster: RadosCluster) -> None:
    """SIGKILL the leader: the next one starts with no stats and rebuilds them from the
    OSDs' reports, passed on by a monitor that does not lead when an OSD talks to one."""
    stats = _pool_df(cluster, "stats")
    assert stats is not None
    before = stats["objects"]
    leader = cluster.quorum()["quorum_leader_name"]
    cluster.kill(leader)
    try:

        def rebuilt() -> bool:
            osd_df = cluster.poll_json("osd df")
            if osd_df is None or not all(n["kb"] == CAPACITY // 1024 for n in osd_df["nodes"]):
                return False
            stats = _pool_df(cluster, "stats")
            return stats is not None and stats["objects"] == before

        wait_for(rebuilt, DEADLINE, "every OSD's stats at the new leader")
        assert cluster.quorum()["quorum_leader_name"] != leader
    finally:
        cluster.start(leader)
    wait_for(
        lambda: (status := cluster.poll_json("quorum_status"))
        and len(status["quorum_names"]) == 3,
        DEADLINE,
        "3 monitors again",
    )


def test_quota_refuses_writes_with_edquot_and_loses_nothing(
    cluster: RadosCluster, client: radospy.Rados
) -> None:
    _create_pool(cluster, "quota")
    rc, _, err = cluster.ceph("osd", "pool", "set-quota", "quota", "max_objects", "10")
    assert rc == 0, err
    acked: dict[str, bytes] = {}
    with client.open_ioctx("quota") as ioctx:
        for i in range(10):
            ioctx.write_full(f"q-{i}", f"payload {i}".encode())
            acked[f"q-{i}"] = f"payload {i}".encode()
        counter = iter(range(10, 10_000))

        def refused() -> bool:
            name = f"q-{next(counter)}"
            if _refused(ioctx, name, name.encode(), errno.EDQUOT):
                return True
            acked[name] = name.encode()
            return False

        wait_for(refused, DEADLINE, "a write refused with EDQUOT", poll=0.2)
        # an overwrite that grows is refused too; reads and stats still work
        assert _refused(ioctx, "q-0", b"grown " * 100, errno.EDQUOT)
        for name, data in acked.items():
            assert ioctx.read(name, len(data) + 1) == data
        rc, out, err = cluster.ceph("health", "detail")
        assert "POOL_FULL: 1 pool(s) full" in out, (out, err)
        assert "pool 'quota' is full (running out of quota)" in out
        res = cluster.rados("-p", "quota", "put", "cli-obj", "-", stdin=b"x")
        assert res[0] != 0 and "(122) Disk quota exceeded" in res[2], res
        # deleting brings the pool under its quota, then writes resume
        for name in list(acked)[: len(acked) - 8]:
            ioctx.remove_object(name)
            del acked[name]
        _wait_refusal_ends(
            cluster, ioctx, "after", errno.EDQUOT, "writes to resume under the quota"
        )
        acked["after"] = b"resumed"
        for name, data in acked.items():
            assert ioctx.read(name, len(data) + 1) == data
    rc, out, _ = cluster.ceph("health")
    assert "POOL_FULL" not in out


def test_full_osds_refuse_writes_with_enospc_and_lose_nothing(
    cluster: RadosCluster, client: radospy.Rados
) -> None:
    _create_pool(cluster, "fill")
    block = MIB
    acked: dict[str, bytes] = {}
    with client.open_ioctx("fill") as ioctx:
        counter = iter(range(100_000))

        def refused() -> bool:
            i = next(counter)
            data = bytes([i % 256]) * block
            if _refused(ioctx, f"fill-{i}", data, errno.ENOSPC):
                return True
            acked[f"fill-{i}"] = data
            return False

        wait_for(refused, 2 * DEADLINE, "a write refused with ENOSPC", poll=0)
        # Each OSD counts the data it takes as primary and as replica since it last
        # measured its usage: the failsafe stops writes about when the OSDs fill, so
        # that deleting half of what was acked brings them back under the full ratio.
        filled = len(acked)
        assert filled * block <= 1.1 * CAPACITY, f"{filled} MiB acked on {CAPACITY // MIB} MiB"
        for name, data in acked.items():
            assert ioctx.read(name, block) == data
        wait_for(
            lambda: (answer := cluster.poll_json("health", detail="detail"))
            and "OSD_FULL" in answer["checks"],
            DEADLINE,
            "OSD_FULL in health",
        )
        rc, health, err = cluster.ceph("health", "detail")
        assert rc == 0, err
        assert health.startswith("HEALTH_ERR")
        assert "pool 'fill' is full (no space)" in health
        dump = _ceph_json(cluster, "osd", "dump")
        assert any("full" in o["state"] for o in dump["osds"])
        # deletes go through while full; the OSDs drain below the ratios again
        for name in sorted(acked)[: len(acked) // 2]:
            ioctx.remove_object(name)
            del acked[name]
        _wait_refusal_ends(
            cluster,
            ioctx,
            "after-full",
            errno.ENOSPC,
            f"writes to resume after deletes ({len(acked)} of {filled} acked MiB left)",
        )
        acked["after-full"] = b"resumed"
        for name, data in acked.items():
            assert ioctx.read(name, block) == data
