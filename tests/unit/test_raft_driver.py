"""The asyncio Raft driver: three in-process drivers over an in-memory transport."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import time
from collections.abc import Awaitable, Callable
from errno import ENOSPC, ETIMEDOUT
from typing import Any

import msgspec
import pytest

from radospy.common.errors import RadosError
from radospy.raft import ConfChange, ConfChangeOp, Entry, MemoryStorage, Message, NotLeader
from radospy.raft.core import Ready
from radospy.raft.driver import DriverConfig, QuorumTimeout, RaftDriver
from radospy.raft.storage import Storage
from radospy.raft.writer import StorageFailed, StorageWriter

FAST = DriverConfig(tick_interval=0.01, election_tick=10, snapshot_entries=20)
BACKGROUND = dataclasses.replace(FAST, inline_save_streak=0)
"""A leader's synced saves all go to its storage thread."""
STEADY = dataclasses.replace(FAST, election_tick=100)
"""Elections only after a second of silence: one leader throughout, even when the
machine is loaded."""


class ListMachine:
    """Appends each entry's data; the result is the list's length."""

    def __init__(self) -> None:
        self.items: list[bytes] = []

    def apply(self, entry: Entry) -> object:
        self.items.append(entry.data)
        return len(self.items)

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode(self.items)

    def restore(self, data: bytes) -> None:
        self.items = msgspec.msgpack.decode(data, type=list[bytes])


class Net:
    """Delivers messages between drivers of one loop; ``down`` nodes get nothing."""

    def __init__(self) -> None:
        self.drivers: dict[int, RaftDriver] = {}
        self.down: set[int] = set()

    def send(self, msg: Message) -> None:
        target = self.drivers.get(msg.to)
        if target is not None and msg.to not in self.down and msg.frm not in self.down:
            asyncio.get_running_loop().call_soon(target.step, msg)

    def flush(self) -> None:
        """Deliveries are already scheduled by `send`."""


def make(
    net: Net,
    node_id: int,
    storage: Storage,
    peers: tuple[int, ...],
    config: DriverConfig = FAST,
) -> RaftDriver:
    if not storage.load().entries and peers:
        from radospy.raft import HardState, bootstrap_entries

        boot = bootstrap_entries(peers)
        storage.save(entries=boot, hard_state=HardState(1, 0, len(boot)))
    driver = RaftDriver(node_id, storage, ListMachine(), net, config)
    net.drivers[node_id] = driver
    driver.start()
    return driver


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


async def leader_of(net: Net) -> RaftDriver:
    await until(lambda: any(d.is_leader for i, d in net.drivers.items() if i not in net.down))
    return next(d for i, d in net.drivers.items() if d.is_leader and i not in net.down)


async def retry(op: Callable[[RaftDriver], Awaitable[object]], net: Net) -> object:
    for _ in range(50):
        try:
            return await op(await leader_of(net))
        except NotLeader:
            await asyncio.sleep(0.05)
    raise AssertionError("no stable leader")


@pytest.mark.asyncio
async def test_elect_propose_apply_everywhere() -> None:
    net = Net()
    storages = {i: MemoryStorage() for i in (1, 2, 3)}
    drivers = [make(net, i, s, (1, 2, 3)) for i, s in storages.items()]
    results = [await retry(lambda d, n=n: d.propose(b"x%d" % n, 2.0), net) for n in range(50)]
    assert results == list(range(1, 51))
    await until(lambda: all(len(d._sm.items) == 50 for d in drivers))  # type: ignore[attr-defined]
    follower = next(d for d in drivers if not d.is_leader)
    with pytest.raises(NotLeader) as err:
        await follower.propose(b"nope", 1.0)
    assert err.value.leader == (await leader_of(net)).id
    await follower.read_barrier(2.0)
    assert follower.applied >= 50
    for d in drivers:
        await d.stop()


@pytest.mark.asyncio
async def test_leader_crash_snapshot_catch_up_and_membership() -> None:
    net = Net()
    storages = {i: MemoryStorage() for i in (1, 2, 3)}
    for i, s in storages.items():
        make(net, i, s, (1, 2, 3))
    first = await leader_of(net)
    for n in range(10):
        await retry(lambda d, n=n: d.propose(b"a%d" % n, 2.0), net)
    net.down.add(first.id)
    await first.stop()
    for n in range(40):  # enough to snapshot and compact past the crashed node
        await retry(lambda d, n=n: d.propose(b"b%d" % n, 2.0), net)
    net.down.discard(first.id)
    back = make(net, first.id, storages[first.id], ())
    await until(lambda: len(back._sm.items) == 50)  # type: ignore[attr-defined]
    assert back._sm.items[-1] == b"b39"  # type: ignore[attr-defined]
    make(net, 4, MemoryStorage(), ())
    await retry(lambda d: d.propose_conf_change(ConfChange(ConfChangeOp.ADD_VOTER, 4), 2.0), net)
    await until(lambda: len(net.drivers[4]._sm.items) == 50)  # type: ignore[attr-defined]
    assert 4 in (await leader_of(net)).voters
    for d in net.drivers.values():
        await d.stop()


@pytest.mark.asyncio
async def test_a_cut_off_leader_times_out_its_barrier_and_proposal_as_quorum_timeouts() -> None:
    """A leader that cannot hear from a majority answers neither a read barrier nor a
    proposal: both end in QuorumTimeout (ETIMEDOUT), which the monitor turns into
    "retry" for its client."""
    net = Net()
    drivers = [make(net, i, MemoryStorage(), (1, 2, 3)) for i in (1, 2, 3)]
    leader = await leader_of(net)
    net.down = {d.id for d in drivers if d is not leader}
    with pytest.raises(QuorumTimeout) as barrier:
        await leader.read_barrier(0.5)
    assert barrier.value.errno == ETIMEDOUT
    with pytest.raises((QuorumTimeout, NotLeader)):
        await leader.propose(b"cut off", 0.5)
    for d in drivers:
        await d.stop()


class GatedStorage(MemoryStorage):
    """Memory storage whose saves wait while the gate is closed, or fail when told."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.fail = False

    def save(self, **kwargs: Any) -> None:
        if not self.gate.wait(10.0):
            raise TimeoutError("gate never opened")
        if self.fail:
            raise OSError(ENOSPC, "No space left on device")
        super().save(**kwargs)


@pytest.mark.asyncio
async def test_a_leader_commits_on_its_followers_while_its_own_save_is_still_running() -> None:
    net = Net()
    storages = {i: GatedStorage() for i in (1, 2, 3)}
    drivers = [make(net, i, s, (1, 2, 3), BACKGROUND) for i, s in storages.items()]
    await retry(lambda d: d.propose(b"first", 2.0), net)
    leader = await leader_of(net)
    storages[leader.id].gate.clear()
    try:
        # Both followers persisted it: a majority of durable copies without the
        # leader's, whose loop goes on while its storage thread waits.
        assert await leader.propose(b"second", 5.0) == 2
        assert leader.node.log.durable < leader.node.committed
    finally:
        storages[leader.id].gate.set()
    await until(lambda: leader.node.log.durable == leader.node.log.last_index)
    for d in drivers:
        await d.stop()
    assert [e.data for e in storages[leader.id].load().entries if e.data][-2:] == [
        b"first",
        b"second",
    ]


@pytest.mark.asyncio
async def test_a_failed_background_save_ends_the_leaders_loop() -> None:
    net = Net()
    storages = {i: GatedStorage() for i in (1, 2, 3)}
    drivers = [make(net, i, s, (1, 2, 3), BACKGROUND) for i, s in storages.items()]
    leader = await leader_of(net)
    task = leader._task
    assert task is not None
    storages[leader.id].fail = True
    # It may still commit, on both followers' durable copies, before the loop ends.
    with contextlib.suppress(QuorumTimeout, RadosError):
        await leader.propose(b"not saved here", 1.0)
    await until(task.done)
    assert isinstance(task.exception(), OSError)
    # stop() leaves the loop's error to the task's owner: raised from a daemon's
    # shutdown it would replace the error being handled there.
    for d in drivers:
        await d.stop()
    assert isinstance(task.exception(), OSError)


@pytest.mark.asyncio
async def test_after_a_failed_save_the_writer_writes_nothing_more() -> None:
    storage = GatedStorage()
    writer = StorageWriter(storage)
    errors: list[BaseException | None] = []
    storage.fail = True
    writer.start(Ready(entries=(Entry(1, 1, data=b"a"),), must_sync=True), errors.append)
    await until(lambda: bool(errors))
    assert isinstance(errors[0], OSError)
    storage.fail = False
    with pytest.raises(StorageFailed):
        writer.save(Ready(entries=(Entry(1, 1, data=b"b"),), must_sync=True))
    writer.close()
    assert storage.load().entries == ()


class ThreadRecordingStorage(MemoryStorage):
    """Memory storage that records, for each save of entries, whether it ran on the
    event loop's thread (the main thread here) or on the storage thread."""

    def __init__(self) -> None:
        super().__init__()
        self.entry_saves_on_loop: list[bool] = []
        self.saves_on_storage_thread = 0

    def save(self, **kwargs: Any) -> None:
        on_loop = threading.current_thread() is threading.main_thread()
        if kwargs.get("entries"):
            self.entry_saves_on_loop.append(on_loop)
        if not on_loop:
            self.saves_on_storage_thread += 1
        super().save(**kwargs)


@pytest.mark.asyncio
async def test_a_leader_committing_one_change_at_a_time_saves_on_its_loop() -> None:
    """One change in flight at a time: once the streak is reached, the leader's own
    entries are written on its loop's thread and durable before they commit, and no
    save of it goes to the storage thread any more (nor does a commit index's)."""
    net = Net()
    storages = {i: ThreadRecordingStorage() for i in (1, 2, 3)}
    drivers = [make(net, i, s, (1, 2, 3), STEADY) for i, s in storages.items()]
    await retry(lambda d: d.propose(b"warm-up", 2.0), net)
    leader = await leader_of(net)
    term = leader.term
    storage = storages[leader.id]
    for n in range(FAST.inline_save_streak):
        await leader.propose(b"w%d" % n, 2.0)
    # The saves handed to the storage thread before the streak was reached are done.
    await until(lambda: not leader._writer.busy)
    threaded = storage.saves_on_storage_thread
    saves = len(storage.entry_saves_on_loop)
    for n in range(10):
        assert await leader.propose(b"x%d" % n, 2.0) == FAST.inline_save_streak + 2 + n
        # Saved before the commit, not reported later by the storage thread.
        assert leader.node.log.durable == leader.node.log.last_index
    assert storage.entry_saves_on_loop[saves:] == [True] * 10
    assert storage.saves_on_storage_thread == threaded
    assert leader.is_leader and leader.term == term
    for d in drivers:
        await d.stop()
    assert [e.data for e in storage.load().entries if e.data][-1] == b"x9"


@pytest.mark.asyncio
async def test_with_no_streak_a_leaders_entries_are_all_saved_in_the_background() -> None:
    net = Net()
    storages = {i: ThreadRecordingStorage() for i in (1, 2, 3)}
    config = dataclasses.replace(STEADY, inline_save_streak=0)
    drivers = [make(net, i, s, (1, 2, 3), config) for i, s in storages.items()]
    await retry(lambda d: d.propose(b"warm-up", 2.0), net)
    leader = await leader_of(net)
    term = leader.term
    await until(lambda: not leader._writer.busy)
    saves = len(storages[leader.id].entry_saves_on_loop)
    for n in range(10):
        await leader.propose(b"x%d" % n, 2.0)
    # It may commit on its followers' copies before its own are written.
    await until(lambda: not leader._writer.busy)
    assert storages[leader.id].entry_saves_on_loop[saves:] == [False] * 10
    assert leader.is_leader and leader.term == term
    for d in drivers:
        await d.stop()


@pytest.mark.asyncio
async def test_the_writer_is_idle_once_its_thread_is_done_before_the_loop_hears_of_it() -> None:
    """A foreground save may follow a background one as soon as the storage thread has
    finished it, on the caller's thread, though the loop has not yet run the report
    (a leader whose followers committed its entry cuts the next Ready before that)."""
    storage = ThreadRecordingStorage()
    writer = StorageWriter(storage)
    reports: list[BaseException | None] = []
    writer.start(Ready(entries=(Entry(1, 1, data=b"a"),), must_sync=True), reports.append)
    deadline = time.monotonic() + 10
    while writer.busy:  # the loop is blocked here: the report cannot run meanwhile
        assert time.monotonic() < deadline, "the storage thread never finished"
        time.sleep(0.001)
    assert reports == []
    writer.save(Ready(entries=(Entry(1, 2, data=b"b"),), must_sync=True))
    assert storage.entry_saves_on_loop == [False, True]
    await until(lambda: reports == [None])
    writer.close()
    assert [e.data for e in storage.load().entries] == [b"a", b"b"]


@pytest.mark.asyncio
async def test_the_writer_is_idle_again_after_a_save_that_queued_behind_a_background_one() -> None:
    """A foreground save made while a background one runs goes through the storage
    thread; once both are done the writer is idle, so later saves run on the caller's
    thread again (they did not: the queued save was counted as finished but never as
    handed over)."""
    storage = GatedStorage()
    writer = StorageWriter(storage)
    reports: list[BaseException | None] = []
    storage.gate.clear()
    writer.start(Ready(entries=(Entry(1, 1, data=b"a"),), must_sync=True), reports.append)

    def open_once_queued() -> None:
        # The foreground save is queued behind the gated one: only then may it run.
        deadline = time.monotonic() + 10
        while writer._pool._work_queue.qsize() == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        storage.gate.set()

    opener = threading.Thread(target=open_once_queued)
    opener.start()
    writer.save(Ready(entries=(Entry(1, 2, data=b"b"),), must_sync=True))
    opener.join()
    await until(lambda: reports == [None])
    assert not writer.busy
    writer.close()
    assert [e.data for e in storage.load().entries] == [b"a", b"b"]
