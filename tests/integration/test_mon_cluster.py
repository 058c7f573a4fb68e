"""Monitor clusters as real processes on 127.0.0.1: elections, failover, membership, auth."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from errno import EACCES
from pathlib import Path
from typing import Any

import pytest

from radospy.auth.crypto import CryptoKey
from radospy.auth.keyring import EntityAuth, EntityName, Keyring
from radospy.mon.client import MonClient, MonClientConfig
from radospy.mon.monmap import MonMap
from radospy.mon.osdmap_wire import OSDMapFollower, Take, decode_osdmap, encode_osdmap
from radospy.raft import SqliteStorage, WalStorage
from tests.integration.cluster import MonCluster, free_ports, wait_for


def _cluster(tmp_path: Path, names: list[str]) -> Iterator[MonCluster]:
    cluster = MonCluster(tmp_path, names)
    try:
        for name in names:
            cluster.mkfs(name)
        for name in names:
            cluster.start(name)
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def mons3(tmp_path: Path) -> Iterator[MonCluster]:
    yield from _cluster(tmp_path, ["a", "b", "c"])


@pytest.fixture
def mons5(tmp_path: Path) -> Iterator[MonCluster]:
    yield from _cluster(tmp_path, ["a", "b", "c", "d", "e"])


def _osd_ids(cluster: MonCluster) -> list[int]:
    rc, out, err = cluster.ceph("osd", "ls", "--format", "json")
    assert rc == 0, err
    ids: list[int] = json.loads(out)
    return ids


def test_three_monitors_elect_a_leader_and_serve(mons3: MonCluster) -> None:
    status = mons3.quorum()
    assert sorted(status["quorum_names"]) == ["a", "b", "c"]
    assert status["quorum_leader_name"] in ("a", "b", "c")
    assert status["quorum"] == [0, 1, 2]
    rc, out, err = mons3.ceph("mon", "stat")
    assert rc == 0 and "3 mons at" in out and "quorum 0,1,2 " in out, err
    rc, _, err = mons3.ceph("osd", "pool", "create", "rbd", "8")
    assert rc == 0, err
    rc, out, _ = mons3.ceph("osd", "pool", "ls")
    assert out.split() == ["rbd"]
    rc, _, err = mons3.ceph("osd", "pool", "get", "nope", "size")
    assert rc == 2 and err.startswith("Error ENOENT:")


async def _create_osds(cluster: MonCluster, count: int, kill_after: int, victim: str) -> list[int]:
    """Send `osd create` one after another, SIGKILLing ``victim`` after ``kill_after``
    acknowledgements; the ids of the acknowledged creations."""
    acked: list[int] = []
    async with MonClient(cluster.client_config(timeout=30.0)) as client:
        for i in range(count):
            if i == kill_after:
                cluster.kill(victim)
            rc, out, outs = await client.command({"prefix": "osd create"})
            assert rc == 0, outs
            acked.append(int(out))
    return acked


def test_leader_killed_during_writes_loses_nothing(mons3: MonCluster) -> None:
    leader = mons3.quorum()["quorum_leader_name"]
    acked = asyncio.run(_create_osds(mons3, 40, 15, leader))
    # Every acknowledged creation happened exactly once (retries are deduplicated).
    assert len(set(acked)) == len(acked) == 40
    status = mons3.quorum()
    assert status["quorum_leader_name"] != leader
    assert set(acked) <= set(_osd_ids(mons3))

    mons3.start(leader)
    wait_for(lambda: leader in mons3.quorum()["quorum_names"], 30, f"mon.{leader} to rejoin")
    # Take down another monitor: the restarted one is now needed for every commit, so
    # the cluster can only go on if it caught up.
    other = mons3.quorum()["quorum_leader_name"]
    mons3.kill(other)
    rc, _, err = mons3.ceph("osd", "create")
    assert rc == 0, err
    assert set(acked) <= set(_osd_ids(mons3))


async def _concurrent_writes(cluster: MonCluster) -> list[tuple[int, bytes, str]]:
    """32 ``osd create`` and 4 identical ``osd pool create`` in flight at once."""
    async with MonClient(cluster.client_config(timeout=30.0)) as client:
        creates = [client.command({"prefix": "osd create"}) for _ in range(32)]
        pool = {"prefix": "osd pool create", "pool": "same", "pg_num": 8}
        pools = [client.command(pool) for _ in range(4)]
        return await asyncio.gather(*creates, *pools)


def test_concurrent_commands_share_entries_and_apply_once(mons3: MonCluster) -> None:
    mons3.quorum()
    results = asyncio.run(_concurrent_writes(mons3))
    assert all(rc == 0 for rc, _, _ in results), results
    # Validated one after another although committed in batches: distinct ids, in order.
    assert sorted(int(out) for _, out, _ in results[:32]) == list(range(32))
    assert sorted(_osd_ids(mons3)) == list(range(32))
    # One creation; the others answer from the committed state, after it.
    outs = sorted(outs for _, _, outs in results[32:])
    assert outs == ["pool 'same' already exists"] * 3 + ["pool 'same' created"]


def test_a_killed_monitor_is_mon_down_until_it_is_back(mons3: MonCluster) -> None:
    status = mons3.quorum()
    ranks = [m["name"] for m in status["monmap"]["mons"]]
    victim = next(n for n in ranks if n != status["quorum_leader_name"])
    rc, out, _ = mons3.ceph("status")
    assert rc == 0 and f"    mon: 3 daemons, quorum {','.join(ranks)} (age " in out, out
    mons3.kill(victim)

    def health() -> dict[str, Any] | None:
        answer: dict[str, Any] | None = mons3.poll_json("health", detail="detail")
        return answer

    def mon_down() -> dict[str, Any] | None:
        found = health()
        return found["checks"].get("MON_DOWN") if found else None

    check = wait_for(mon_down, 30, "MON_DOWN")
    rest = ",".join(n for n in ranks if n != victim)
    assert check["summary"]["message"] == f"1/3 mons down, quorum {rest}"
    addr = f"v2:127.0.0.1:{mons3.ports[victim]}/0"
    line = f"mon.{victim} (rank {ranks.index(victim)}) addr {addr} is down (out of quorum)"
    assert check["detail"] == [{"message": line}]
    rc, out, _ = mons3.ceph("-s")
    assert f"quorum {rest} (age " in out and f"out of quorum: {victim}\n" in out, out
    assert f"1/3 mons down, quorum {rest}" in out

    mons3.start(victim)
    wait_for(lambda: (h := health()) is not None and h["status"] == "HEALTH_OK", 30, "HEALTH_OK")
    body = json.loads(mons3.ceph("status", "--format", "json")[1])
    assert body["quorum_names"] == ranks and body["election_epoch"] % 2 == 0


async def _subscribers(cluster: MonCluster) -> None:
    """Subscribers from scratch, from a kept epoch and from 0, while the map changes."""
    async with MonClient(cluster.client_config(timeout=30.0)) as client:
        got: dict[str, list[tuple[int, bool]]] = {"new": [], "behind": [], "zero": []}
        followers = {name: OSDMapFollower() for name in got}

        def on_map(name: str) -> Callable[[int, bytes, bool], None]:
            def take(epoch: int, data: bytes, full: bool) -> None:
                got[name].append((epoch, full))
                assert followers[name].take(epoch, data, full) is Take.NEW

            return take

        client.subscribe("osdmap", 1, on_map("new"))
        for _ in range(4):
            rc, _, outs = await client.command({"prefix": "osd create"})
            assert rc == 0, outs
        rc, data, _ = await client.command({"prefix": "osd getmap"})
        current = decode_osdmap(data)[0]

        async def caught_up(name: str) -> None:
            async with asyncio.timeout(30):
                while followers[name].epoch < current.epoch:
                    await asyncio.sleep(0.05)

        await caught_up("new")
        # The first map is full, every later one an update.
        assert got["new"][0][1] and not any(full for _, full in got["new"][1:])
        assert [e for e, _ in got["new"]] == list(range(got["new"][0][0], current.epoch + 1))

        rc, old, _ = await client.command({"prefix": "osd getmap", "epoch": 2})
        assert rc == 0
        followers["behind"].take(2, old, True)
        client.subscribe("osdmap", 3, on_map("behind"))
        await caught_up("behind")
        assert got["behind"] == [(e, False) for e in range(3, current.epoch + 1)]

        client.subscribe("osdmap", 0, on_map("zero"))
        await caught_up("zero")
        assert got["zero"] == [(current.epoch, True)]
        for follower in followers.values():
            assert follower.osdmap is not None
            assert encode_osdmap(follower.osdmap, {}) == encode_osdmap(current, {})


def test_subscribers_get_updates_and_past_epochs_stay_readable(
    mons3: MonCluster, tmp_path: Path
) -> None:
    mons3.quorum()
    asyncio.run(_subscribers(mons3))
    rc, out, _ = mons3.ceph("osd", "dump", "2", "--format", "json")
    assert rc == 0 and json.loads(out)["epoch"] == 2 and json.loads(out)["max_osd"] == 1
    rc, _, err = mons3.ceph("osd", "getmap", "2", "-o", str(tmp_path / "osdmap.2"))
    assert rc == 0 and err.startswith("got osdmap epoch 2\n"), err
    assert decode_osdmap((tmp_path / "osdmap.2").read_bytes())[0].epoch == 2
    rc, _, err = mons3.ceph("osd", "dump", "999")
    assert rc == 2 and err.strip() == "Error ENOENT: there is no map for epoch 999"

    (port,) = free_ports(1)
    rc, _, err = mons3.ceph("mon", "add", "d", f"127.0.0.1:{port}")
    assert rc == 0, err
    rc, out, _ = mons3.ceph("mon", "dump", "1", "--format", "json")
    assert rc == 0 and json.loads(out)["epoch"] == 1 and len(json.loads(out)["mons"]) == 3
    rc, out, err = mons3.ceph("mon", "dump", "2")
    assert rc == 0 and err.strip() == "dumped monmap epoch 2" and "mon.d" in out, err
    rc, _, err = mons3.ceph("mon", "getmap", "1", "-o", str(tmp_path / "monmap.1"))
    assert rc == 0 and err.startswith("got monmap epoch 1\n"), err
    assert MonMap.decode((tmp_path / "monmap.1").read_bytes()).epoch == 1
    rc, _, err = mons3.ceph("mon", "dump", "3")
    assert rc == 2 and err.strip() == "Error ENOENT: there is no map for epoch 3"


async def _subscriber_outlives_its_monitor(cluster: MonCluster) -> None:
    async with MonClient(cluster.client_config(timeout=30.0)) as client:
        follower = OSDMapFollower()
        client.subscribe("osdmap", 1, lambda e, data, full: follower.take(e, data, full))
        await client.connect()
        mon = client.mon_name
        assert mon is not None
        await asyncio.to_thread(cluster.kill, mon.removeprefix("mon."))
        # The map changes through another client: this one sends nothing, so only its
        # own hunting (not a command's) can bring it the new epoch.
        rc, out, err = await asyncio.to_thread(cluster.ceph, "osd", "create")
        assert rc == 0, err
        rc, out, err = await asyncio.to_thread(cluster.ceph, "osd", "dump", "--format", "json")
        assert rc == 0, err
        epoch = json.loads(out)["epoch"]
        async with asyncio.timeout(60):
            while follower.epoch < epoch:
                await asyncio.sleep(0.05)
        assert client.mon_name not in (None, mon)


def test_a_subscriber_hunts_when_its_monitor_dies(mons3: MonCluster) -> None:
    """A client that only follows maps moves to another monitor when its own dies."""
    mons3.quorum()
    asyncio.run(_subscriber_outlives_its_monitor(mons3))


async def _clients_outlive_a_hung_monitor(cluster: MonCluster) -> None:
    # Short keepalive and hunt options, as a test can afford: a SIGSTOPped monitor keeps
    # its TCP connections open, so only silence tells the clients to go elsewhere.
    config = dataclasses.replace(
        cluster.client_config(timeout=90.0), ping_interval=0.5, ping_timeout=2.0, hunt_interval=1.0
    )
    async with contextlib.AsyncExitStack() as stack:
        follower = OSDMapFollower()
        subscriber = await stack.enter_async_context(MonClient(config))
        subscriber.subscribe("osdmap", 1, lambda e, data, full: follower.take(e, data, full))
        await subscriber.connect()
        hung = subscriber.mon_name
        assert hung is not None
        # A second client on the same monitor, for a command (each picks at random).
        for _ in range(40):
            commander = await stack.enter_async_context(MonClient(config))
            await commander.connect()
            if commander.mon_name == hung:
                break
        assert commander.mon_name == hung
        proc = cluster.procs[hung.removeprefix("mon.")]
        proc.send_signal(signal.SIGSTOP)
        try:
            rc, out, outs = await commander.command({"prefix": "osd create"})
            assert rc == 0, outs
            assert commander.mon_name not in (None, hung)
            rc, out, err = await asyncio.to_thread(
                cluster.ceph, "osd", "dump", "--format", "json", timeout=60.0
            )
            assert rc == 0, err
            epoch = json.loads(out)["epoch"]
            # The subscriber sent nothing since: its keepalives found the monitor silent.
            async with asyncio.timeout(90):
                while follower.epoch < epoch:
                    await asyncio.sleep(0.05)
            assert subscriber.mon_name not in (None, hung)
        finally:
            proc.send_signal(signal.SIGCONT)


def test_clients_leave_a_sigstopped_monitor(mons3: MonCluster) -> None:
    """A hung monitor keeps its connections open: a command and a map subscription on
    it still complete through another monitor (keepalive and hunt timeouts)."""
    mons3.quorum()
    asyncio.run(_clients_outlive_a_hung_monitor(mons3))
    status = mons3.quorum(timeout=60.0)
    assert sorted(status["quorum_names"]) == ["a", "b", "c"] or len(status["quorum"]) >= 2


async def _command_outlives_a_lost_quorum(cluster: MonCluster, leader: str) -> None:
    config = cluster.client_config(timeout=120.0)
    # Only the leader: the command must reach it while it still leads.
    port = cluster.ports[leader]
    config = replace(config, mon_addrs=tuple(a for a in config.mon_addrs if a[1] == port))
    log_path = cluster.root / f"mon.{leader}.log"
    offset = log_path.stat().st_size

    def no_quorum_logged() -> bool:
        with open(log_path) as f:
            f.seek(offset)
            return "no quorum for a command" in f.read()

    async with MonClient(config) as client:
        await client.connect()
        paused = [n for n in cluster.procs if n != leader]
        for name in paused:
            cluster.procs[name].send_signal(signal.SIGSTOP)
        try:
            command = asyncio.create_task(client.command({"prefix": "osd pool ls"}))
            await asyncio.to_thread(
                wait_for, no_quorum_logged, 60, f"mon.{leader} to find no quorum", 0.5
            )
        finally:
            for name in paused:
                cluster.procs[name].send_signal(signal.SIGCONT)
        rc, _, outs = await command
        assert rc == 0, outs


def test_a_command_waits_out_a_lost_quorum(mons3: MonCluster) -> None:
    """The leader cannot confirm its quorum while both other monitors are paused: its
    read barrier times out (it steps down meanwhile), and the command is retried, not
    failed with ETIMEDOUT, until the quorum is back within the client's own deadline
    (a thrash run's snapshot command failed so while a monitor was paused)."""
    leader = mons3.quorum()["quorum_leader_name"]
    asyncio.run(_command_outlives_a_lost_quorum(mons3, leader))


def test_five_monitors_survive_two_losses_and_refuse_with_three(mons5: MonCluster) -> None:
    mons5.quorum()
    mons5.kill("a")
    mons5.kill("b")
    rc, _, err = mons5.ceph("osd", "pool", "create", "p", "4")
    assert rc == 0, err
    mons5.kill("c")
    start = time.monotonic()
    rc, out, err = mons5.ceph("osd", "pool", "ls", timeout=3.0)
    elapsed = time.monotonic() - start
    assert rc == 110, (rc, out, err)
    assert "timed out" in err and "Traceback" not in err
    assert elapsed < 3.0 + 10.0  # the timeout plus process start-up, never a hang


def test_mon_add_and_remove_change_the_quorum_live(mons3: MonCluster) -> None:
    mons3.quorum()
    (port,) = free_ports(1)
    rc, _, err = mons3.ceph("mon", "add", "d", f"127.0.0.1:{port}")
    assert rc == 0, err
    mons3.ports["d"] = port
    mons3.mkfs("d", "--public-addr", f"127.0.0.1:{port}")
    mons3.start("d")
    wait_for(
        lambda: sorted(mons3.quorum()["quorum_names"]) == ["a", "b", "c", "d"],
        30,
        "mon.d in the quorum",
    )
    rc, out, _ = mons3.ceph("mon", "dump", "--format", "json")
    assert sorted(m["name"] for m in json.loads(out)["mons"]) == ["a", "b", "c", "d"]

    rc, _, err = mons3.ceph("mon", "remove", "a")
    assert rc == 0, err
    wait_for(
        lambda: sorted(mons3.quorum()["quorum_names"]) == ["b", "c", "d"],
        30,
        "quorum without mon.a",
    )
    # A removed monitor leaves by itself.
    wait_for(lambda: mons3.procs["a"].poll() is not None, 20, "mon.a to exit")
    mons3.procs.pop("a")
    mons3.write_conf(["b", "c", "d"])
    rc, _, err = mons3.ceph("osd", "create")
    assert rc == 0, err


def test_caps_and_keys_are_enforced(mons3: MonCluster, tmp_path: Path) -> None:
    mons3.quorum()
    rc, out, err = mons3.ceph("osd", "ls", entity="client.nocaps")
    assert rc == 13 and out == "" and err.startswith("Error EACCES")

    wrong = Keyring()
    wrong.entities[EntityName.parse("client.admin")] = EntityAuth(
        CryptoKey.generate(time.time()), {}
    )
    bad_keyring = tmp_path / "wrong.keyring"
    bad_keyring.write_text(wrong.to_text())
    res = mons3.run(
        "ceph", "-c", str(mons3.conf_path), "--keyring", str(bad_keyring),
        "--connect-timeout", "10", "osd", "ls",
    )  # fmt: skip
    assert res.returncode == 13, res.stderr
    assert "permission denied" in res.stderr and res.stdout == ""
    assert "Traceback" not in res.stderr
    # Nothing in the refusal tells an unknown entity from a wrong key.
    unknown = mons3.run(
        "ceph", "-c", str(mons3.conf_path), "--keyring", str(bad_keyring),
        "-n", "client.admin", "--connect-timeout", "10", "osd", "ls",
    )  # fmt: skip
    assert unknown.stderr == res.stderr


async def _fresh_user_at_a_follower(cluster: MonCluster, leader: str, follower: str) -> None:
    """Create a user through the leader while ``follower`` is down, restart it and
    authenticate there at once: dialled from before it listens, the first handshake
    comes before it has heard from the leader what it missed."""
    at = {name: (("127.0.0.1", port),) for name, port in cluster.ports.items()}
    admin = replace(cluster.client_config(timeout=30.0), mon_addrs=at[leader])
    async with MonClient(admin) as client:
        for n in range(2):
            entity = f"client.fresh{n}"
            await asyncio.to_thread(cluster.kill, follower)
            rc, out, outs = await client.command(
                {"prefix": "auth get-or-create", "entity": entity, "caps": ["mon", "allow r"]}
            )
            assert rc == 0, outs
            auth = Keyring.parse(out.decode()).get(EntityName.parse(entity))
            assert auth is not None
            async with MonClient(MonClientConfig(entity, auth.key, at[follower], 60.0)) as fresh:
                connecting = asyncio.create_task(fresh.connect())
                await asyncio.to_thread(cluster.start, follower)
                await connecting
                assert fresh.mon_name == f"mon.{follower}"
                rc, _, outs = await fresh.command({"prefix": "osd ls"})
                assert rc == 0, outs
                rc, _, outs = await fresh.command({"prefix": "osd create"})
                assert rc == -EACCES, outs  # held to the caps it was created with


def test_a_user_created_a_moment_ago_is_known_at_a_follower(mons3: MonCluster) -> None:
    """A monitor that does not know an entity does a read barrier before refusing it."""
    leader = mons3.quorum()["quorum_leader_name"]
    follower = next(name for name in mons3.ports if name != leader)
    asyncio.run(_fresh_user_at_a_follower(mons3, leader, follower))


def test_missing_or_corrupt_data_dir_is_one_clear_line(tmp_path: Path) -> None:
    cluster = MonCluster(tmp_path, ["a"])
    res = cluster.run("mon", "-i", "a", "-c", str(cluster.conf_path), "--foreground")
    assert res.returncode != 0
    assert res.stderr.count("\n") == 1 and "does not exist" in res.stderr
    cluster.mkfs("a")
    (segment,) = (tmp_path / "mon.a" / "raft").glob("*.log")
    data = bytearray(segment.read_bytes())
    data[20] ^= 0xFF  # inside the first record, which others follow: not a torn tail
    segment.write_bytes(bytes(data))
    res = cluster.run("mon", "-i", "a", "-c", str(cluster.conf_path), "--foreground")
    assert res.returncode != 0
    assert res.stderr.count("\n") == 1 and "corrupt" in res.stderr
    assert "checksum mismatch" in res.stderr


def test_a_monitor_store_of_the_sqlite_format_is_migrated_on_start(tmp_path: Path) -> None:
    """A data directory made by an earlier version (Raft state in store.db) starts: the
    monitor moves its log into the append-only store and keeps everything it had."""
    cluster = MonCluster(tmp_path, ["a"])
    try:
        cluster.mkfs("a")
        cluster.start("a")
        cluster.quorum()
        rc, _, err = cluster.ceph("osd", "pool", "create", "before", "8")
        assert rc == 0, err
        cluster.close()
        data_dir = tmp_path / "mon.a"
        wal = WalStorage(data_dir / "raft")
        state = wal.load()
        wal.close()
        old = SqliteStorage(data_dir / "store.db")
        if state.snapshot is not None:
            old.save(snapshot=state.snapshot)
        old.save(hard_state=state.hard_state, entries=state.entries)
        old.close()
        shutil.rmtree(data_dir / "raft")
        cluster.start("a")
        cluster.quorum()
        assert not (data_dir / "store.db").exists() and (data_dir / "raft").is_dir()
        rc, out, err = cluster.ceph("osd", "pool", "ls")
        assert rc == 0 and out.split() == ["before"], (out, err)
        rc, _, err = cluster.ceph("osd", "pool", "create", "after", "8")
        assert rc == 0, err
    finally:
        cluster.close()


def test_a_second_process_on_a_running_monitors_store_is_refused(tmp_path: Path) -> None:
    """Two processes serving one monitor's store would be two Raft nodes with one id."""
    cluster = MonCluster(tmp_path, ["a"])
    try:
        cluster.mkfs("a")
        cluster.start("a")
        cluster.quorum()
        res = cluster.run("mon", "-i", "a", "-c", str(cluster.conf_path), "--foreground")
        assert res.returncode != 0
        assert res.stderr.count("\n") == 1 and "in use by another process" in res.stderr
        assert cluster.quorum()["quorum_names"] == ["a"]
        rc, _, err = cluster.ceph("osd", "pool", "create", "rbd", "8")
        assert rc == 0, err
    finally:
        cluster.close()
