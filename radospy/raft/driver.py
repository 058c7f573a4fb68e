"""The asyncio shell around the sans-io Raft core: timers, disk, network, state machine.

One :class:`RaftDriver` owns one :class:`~radospy.raft.core.RaftNode`. Inputs (ticks,
peer messages, proposals, read requests) only mutate the node; a single loop task then
drains every :class:`~radospy.raft.core.Ready` in the order Raft's safety needs::

    persist (one save, durable) → send → apply → advance → release reads

except for a leader whose Ready allows it (``send_first``): it sends first, so that its
appends are on their way to the followers, whose disks work in parallel with its own.
Its save then runs either on the loop's thread, as a follower's does, or in the
background on the storage thread (:class:`~radospy.raft.writer.StorageWriter`) while
the loop goes on taking acknowledgements, proposals and reads: the background pays off
while changes are pipelined, and costs a thread hand-off each way otherwise
(:class:`~radospy.raft.save_policy.LeaderSavePolicy` decides). The node counts the
leader's own copy of the entries toward a commit only once that save is reported
durable (:meth:`~radospy.raft.core.RaftNode.persisted`). Every save, background or not,
reaches the storage in the order the Readys came; a Ready that must be persisted before
its messages leave (a follower's acknowledgement, a vote) waits for every earlier save.
Proposals that arrive while the disk is busy are persisted together in the next Ready
(group commit for free).

Peers are reached through a :class:`Transport`; :class:`MessengerTransport` carries
Raft messages over the radospy messenger as :class:`RaftMessage` frames, written to the
socket at once when the peer's session is up (so that they really leave before the
fsync that follows), dropped when a peer is unreachable (Raft retransmits what matters).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from errno import EAGAIN, ETIMEDOUT
from typing import Protocol

import msgspec

from radospy.common.errors import RadosError
from radospy.msg.connection import Connection
from radospy.msg.frame import FrameTooLarge
from radospy.msg.messages import Message as WireMessage
from radospy.msg.messages import message
from radospy.msg.messenger import Messenger
from radospy.raft.core import Config, NotLeader, RaftNode, Ready, Role
from radospy.raft.messages import (
    ConfChange,
    Entry,
    EntryKind,
    Message,
    decode_message,
    encode_message,
)
from radospy.raft.save_policy import LeaderSavePolicy
from radospy.raft.storage import Storage
from radospy.raft.writer import StorageWriter

log = logging.getLogger("radospy.raft")


@message(0x0100)
class RaftMessage(WireMessage):
    """One Raft message between monitors, encoded by :func:`encode_message`."""

    data: bytes


class QuorumTimeout(RadosError):
    """A read barrier or a proposal did not complete in time: this node could not
    hear from a majority (a monitor paused, restarting or cut off). Nothing was
    answered from it; a command may be retried, idempotently."""

    errno = ETIMEDOUT


class ProposalDropped(RadosError):
    """The entry was overwritten by another leader's (or this node stepped down before
    it committed); it may be retried, idempotently."""

    errno = EAGAIN


class StateMachine(Protocol):
    """What the driver applies committed entries to."""

    def apply(self, entry: Entry) -> object:
        """Apply one committed NORMAL entry (never an empty no-op); the result goes
        to the proposer's future when the entry was proposed on this node."""
        ...

    def snapshot(self) -> bytes:
        """The whole state as of the last applied entry."""
        ...

    def restore(self, data: bytes) -> None:
        """Replace the whole state with a :meth:`snapshot`."""
        ...


class Transport(Protocol):
    """Delivers Raft messages to peers, best effort and without blocking."""

    def send(self, msg: Message) -> None:
        """Queue ``msg`` for ``msg.to``; may drop it."""
        ...

    def flush(self) -> None:
        """Start sending what was queued, before the caller blocks on the disk."""
        ...


@dataclass(frozen=True)
class DriverConfig:
    """Timers and thresholds (Ceph has no equivalents; etcd's defaults scaled down)."""

    tick_interval: float = 0.05
    """Seconds per Raft tick."""
    election_tick: int = 10
    """Ticks without a leader before a follower campaigns (randomised up to 2x)."""
    heartbeat_tick: int = 1
    """Ticks between a leader's heartbeats."""
    snapshot_entries: int = 2000
    """Applied entries since the last snapshot that trigger a new one plus compaction."""
    commit_delay: float = 0.005
    """Seconds a leader gives the next proposal's append to carry a new commit index to
    the followers before it sends an append of its own for it (0: at once). Under a
    steady stream of changes the commit then rides on the next entry: half the appends,
    and one Ready instead of two per entry on each follower."""
    inline_save_streak: int = 4
    """A leader saves new entries on its loop's thread once this many Readys in a row
    carried entries with no earlier one still in flight (changes one at a time); 0:
    always on the storage thread (see :class:`~radospy.raft.save_policy.LeaderSavePolicy`)."""


@dataclass
class _Proposal:
    term: int
    future: asyncio.Future[object]


class RaftDriver:
    """Runs one Raft node: call :meth:`start`, feed :meth:`step`, :meth:`propose`."""

    def __init__(
        self,
        node_id: int,
        storage: Storage,
        state_machine: StateMachine,
        transport: Transport,
        config: DriverConfig | None = None,
        *,
        on_applied: Callable[[], None] | None = None,
        on_role_change: Callable[[Role, int], None] | None = None,
    ) -> None:
        config = config if config is not None else DriverConfig()
        state = storage.load()
        if state.snapshot is not None:
            state_machine.restore(state.snapshot.data)
        self.node = RaftNode(
            Config(
                id=node_id,
                rng=random.Random(),
                election_tick=config.election_tick,
                heartbeat_tick=config.heartbeat_tick,
            ),
            state,
        )
        self.id = node_id
        self.config = config
        self._writer = StorageWriter(storage)
        self._save_policy = LeaderSavePolicy(config.inline_save_streak)
        self._failure: BaseException | None = None
        """A background save's error: it ends the loop."""
        self._sm = state_machine
        self._transport = transport
        self._on_applied = on_applied
        self._on_role_change = on_role_change
        self._applied = self.node.applied
        self._snapshot_index = state.snapshot.index if state.snapshot else 0
        self._proposals: dict[int, _Proposal] = {}
        self._reads: dict[bytes, asyncio.Future[int]] = {}
        self._apply_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._read_ids = itertools.count(1)
        self._wake = asyncio.Event()
        self._tick_due = False
        self._tick_timer: asyncio.TimerHandle | None = None
        self._commit_timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self.last_heard: dict[int, float] = {}
        """Loop time of the last message received from each peer."""
        self.leader_since = 0.0
        """Loop time at which the current leader became known here."""

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> asyncio.Task[None]:
        """Start ticking and processing; the task ends only by :meth:`stop` or by an
        error that makes going on unsafe (a failed write to storage)."""
        self._task = asyncio.create_task(self._run())
        return self._task

    async def stop(self) -> None:
        """Stop the loop, wait for the saves handed to storage and fail everything
        still waiting; the storage may be closed afterwards.

        An error the loop already ended with is not raised here: it stays the result
        of the task :meth:`start` returned, for whoever watches that task to report.
        Raised here, from the ``finally`` of a daemon shutting down because of it (or
        of something else), it would replace the error being handled and cut the rest
        of the shutdown short."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
        self._writer.close()
        self._fail_all(RadosError("monitor is shutting down", EAGAIN))

    # --- views ----------------------------------------------------------------------

    @property
    def leader(self) -> int:
        """The known leader's id, or 0."""
        return self.node.lead

    @property
    def is_leader(self) -> bool:
        """Whether this node leads its term."""
        return self.node.role is Role.LEADER

    @property
    def term(self) -> int:
        """The current term."""
        return self.node.term

    @property
    def voters(self) -> tuple[int, ...]:
        """The voter set in force."""
        return self.node.voters

    @property
    def applied(self) -> int:
        """The last index applied to the state machine."""
        return self._applied

    # --- inputs ---------------------------------------------------------------------

    def step(self, msg: Message) -> None:
        """Feed a message received from a peer."""
        self.last_heard[msg.frm] = asyncio.get_running_loop().time()
        self.node.step(msg)
        self._wake.set()

    async def propose(self, data: bytes, timeout: float) -> object:
        """Replicate ``data`` and return the state machine's result of applying it.

        Raises :class:`NotLeader` at once on a non-leader, :class:`ProposalDropped`
        if leadership changes before it commits, :class:`QuorumTimeout` on timeout.
        """
        return await self._track(self.node.propose(data), timeout)

    async def propose_conf_change(self, change: ConfChange, timeout: float) -> None:
        """Add or remove one voter; returns once the change is committed."""
        await self._track(self.node.propose_conf_change(change), timeout)

    async def read_barrier(self, timeout: float) -> None:
        """Wait until the state machine reflects every entry committed before the call
        (ReadIndex): reads made afterwards are linearizable."""
        ctx = f"{self.id}:{next(self._read_ids)}".encode()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._reads[ctx] = future
        try:
            self.node.read_index(ctx)
            self._wake.set()
            async with asyncio.timeout(timeout):
                index = await future
                await self.wait_applied(index)
        except TimeoutError:
            raise QuorumTimeout(f"read barrier timed out after {timeout}s") from None
        finally:
            self._reads.pop(ctx, None)

    async def wait_applied(self, index: int) -> None:
        """Wait until ``index`` is applied."""
        if self._applied >= index:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._apply_waiters.append((index, future))
        await future

    async def _track(self, index: int, timeout: float) -> object:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._proposals[index] = _Proposal(self.node.term, future)
        self._wake.set()
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise QuorumTimeout(f"proposal not committed within {timeout}s") from None
        finally:
            self._proposals.pop(index, None)

    # --- the loop -------------------------------------------------------------------

    async def _run(self) -> None:
        # One repeating timer for the ticks rather than a timeout around every wait:
        # the loop wakes for each message, several times per commit.
        loop = asyncio.get_running_loop()
        self._tick_timer = loop.call_later(self.config.tick_interval, self._on_tick_timer)
        try:
            while True:
                self._drain()
                self._wake.clear()
                await self._wake.wait()
                if self._failure is not None:
                    raise self._failure
                if self._tick_due:
                    self._tick_due = False
                    self.node.tick()
        finally:
            for timer in (self._tick_timer, self._commit_timer):
                if timer is not None:
                    timer.cancel()

    def _on_tick_timer(self) -> None:
        self._tick_due = True
        self._wake.set()
        loop = asyncio.get_running_loop()
        self._tick_timer = loop.call_later(self.config.tick_interval, self._on_tick_timer)

    def _drain(self) -> None:
        while True:
            while self.node.has_ready():
                rd = self.node.ready()
                # A failure here (disk full, say) must not advance: it ends the loop,
                # and the daemon with it, rather than acknowledge what was never
                # persisted.
                durable = self._handle_ready(rd)
                self.node.advance(rd, durable=durable)
                self._release(rd)
            if not self.node.commit_unsent:
                if self._commit_timer is not None:
                    # An append carried it: no wake-up for nothing.
                    self._commit_timer.cancel()
                    self._commit_timer = None
                break
            if self.config.commit_delay > 0:
                if self._commit_timer is None:
                    loop = asyncio.get_running_loop()
                    self._commit_timer = loop.call_later(
                        self.config.commit_delay, self._on_commit_timer
                    )
                break
            self.node.send_commit()
        self._maybe_snapshot()

    def _on_commit_timer(self) -> None:
        self._commit_timer = None
        self.node.send_commit()
        self._wake.set()

    def _handle_ready(self, rd: Ready) -> bool:
        """Carry out ``rd`` but its advance; whether its save is already durable."""
        if rd.soft_state is not None:
            self._role_changed(rd.soft_state.role, rd.soft_state.lead)
        durable = True
        if rd.send_first and rd.committed_entries and not rd.must_sync:
            # A leader's commit with nothing to persist: its messages (the new commit
            # index for the followers, heartbeats) leave after the proposers' replies,
            # which are written by the tasks that applying the entries wakes; they go
            # first in the loop's queue. Raft lets any message be delayed.
            asyncio.get_running_loop().call_soon(self._send, rd.messages)
            durable = self._save_leader(rd)
        elif rd.send_first:
            # The leader's appends leave before its own write and fdatasync, so that
            # the followers' fsyncs run at the same time as its own (etcd's order).
            self._send(rd.messages)
            self._transport.flush()
            durable = self._save_leader(rd)
        else:
            self._writer.save(rd)
            self._send(rd.messages)
            # A follower's acknowledgement leaves now, not after the entries this Ready
            # also applies: the leader's commit waits for it.
            self._transport.flush()
        if rd.snapshot is not None:
            self._sm.restore(rd.snapshot.data)
            self._snapshot_index = rd.snapshot.index
            self._applied = rd.snapshot.index
            log.info("raft %x: restored snapshot at index %d", self.id, rd.snapshot.index)
        for entry in rd.committed_entries:
            self._apply(entry)
        return durable

    def _save_leader(self, rd: Ready) -> bool:
        """Save a leader's Ready on the loop's thread or in the background, as the policy
        says; whether it is already durable."""
        if self._save_policy.inline(rd, self.node.committed, self._writer.busy):
            self._writer.save(rd)
            return True
        self._save_in_background(rd)
        return False

    def _save_in_background(self, rd: Ready) -> None:
        if not (rd.hard_state or rd.entries or rd.snapshot or rd.compaction):
            return
        last = rd.entries[-1] if rd.entries else None

        def done(error: BaseException | None) -> None:
            if error is not None:
                # Nothing more may be written; the loop ends, and the daemon with it.
                self._failure = error
                self._wake.set()
            elif last is not None:
                self.node.persisted(last.index, last.term)
                # Usually the followers committed it already: nothing to do then.
                if self.node.has_ready() or self.node.commit_unsent:
                    self._wake.set()

        self._writer.start(rd, done)

    def _send(self, messages: tuple[Message, ...]) -> None:
        for msg in messages:
            self._transport.send(msg)

    def _apply(self, entry: Entry) -> None:
        result: object = None
        if entry.kind is EntryKind.NORMAL and entry.data:
            result = self._sm.apply(entry)
        self._applied = entry.index
        proposal = self._proposals.pop(entry.index, None)
        if proposal is None or proposal.future.done():
            return
        if proposal.term == entry.term:
            proposal.future.set_result(result)
        else:
            proposal.future.set_exception(
                ProposalDropped("leadership changed before the proposal committed")
            )

    def _release(self, rd: Ready) -> None:
        for rs in rd.read_states:
            future = self._reads.get(rs.ctx)
            if future is not None and not future.done():
                future.set_result(rs.index)
        if self._apply_waiters:
            waiting, self._apply_waiters = self._apply_waiters, []
            for index, future in waiting:
                if future.done():
                    continue
                if index <= self._applied:
                    future.set_result(None)
                else:
                    self._apply_waiters.append((index, future))
        if rd.committed_entries and self._on_applied is not None:
            self._on_applied()

    def _role_changed(self, role: Role, lead: int) -> None:
        self.leader_since = asyncio.get_running_loop().time()
        log.info("raft %x: %s in term %d, leader %x", self.id, role.value, self.node.term, lead)
        if role is not Role.LEADER:
            # Our uncommitted proposals may be overwritten: let the proposers retry
            # (idempotently) through the new leader rather than wait for a timeout.
            pending, self._proposals = self._proposals, {}
            for p in pending.values():
                if not p.future.done():
                    p.future.set_exception(NotLeader(lead))
        if self._on_role_change is not None:
            self._on_role_change(role, lead)

    def _maybe_snapshot(self) -> None:
        if self._applied - self._snapshot_index < self.config.snapshot_entries:
            return
        index = self._applied
        self.node.compact(index, self._sm.snapshot())
        self._snapshot_index = index
        log.info("raft %x: snapshot at index %d, log compacted", self.id, index)
        self._drain()

    def _fail_all(self, error: RadosError) -> None:
        futures = [p.future for p in self._proposals.values()]
        futures += [*self._reads.values(), *(f for _, f in self._apply_waiters)]
        for future in futures:
            if not future.done():
                future.set_exception(error)
        self._proposals.clear()
        self._apply_waiters.clear()


class MessengerTransport:
    """Raft messages over the messenger, one outgoing session per peer.

    ``resolve`` maps a node id to the peer's (entity name, address), or None when the
    node is unknown (yet). Messages to an unreachable peer are dropped, never queued
    without bound, and a send never blocks the Raft loop.
    """

    def __init__(
        self,
        messenger: Messenger,
        resolve: Callable[[int], tuple[str, tuple[str, int]] | None],
        *,
        max_queue: int = 1024,
        connect_timeout: float = 1.0,
    ) -> None:
        self._messenger = messenger
        self._resolve = resolve
        self._max_queue = max_queue
        self._connect_timeout = connect_timeout
        self._peers: dict[int, _PeerLink] = {}

    def send(self, msg: Message) -> None:
        """Queue ``msg`` for its peer (dropping the oldest when the queue is full)."""
        link = self._peers.get(msg.to)
        if link is None:
            link = self._peers[msg.to] = _PeerLink(self, msg.to)
        link.push(msg)

    def flush(self) -> None:
        """Put every peer's queued frames on the wire now."""
        for link in self._peers.values():
            link.flush()

    async def close(self) -> None:
        """Stop every peer's sender task."""
        for link in self._peers.values():
            await link.close()
        self._peers.clear()


class _PeerLink:
    """The queue and sender task of one peer."""

    def __init__(self, transport: MessengerTransport, node_id: int) -> None:
        self._t = transport
        self._id = node_id
        self._queue: deque[Message] = deque(maxlen=transport._max_queue)
        self._ready = asyncio.Event()
        self._conn: Connection | None = None
        self._task = asyncio.create_task(self._run())

    def push(self, msg: Message) -> None:
        conn = self._conn
        if not self._queue and conn is not None and conn.is_ready:
            try:
                if conn.try_send(RaftMessage(encode_message(msg))):
                    return
            except FrameTooLarge as exc:
                # Called from the Raft loop, which must not end over one message (nor
                # this peer's sender task, below).
                log.warning("raft: dropping %s to %x: %s", type(msg).__name__, self._id, exc)
                return
        self._queue.append(msg)
        self._ready.set()

    def flush(self) -> None:
        if self._conn is not None:
            self._conn.flush()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        if self._conn is not None:
            self._conn.mark_down()

    async def _run(self) -> None:
        while True:
            self._ready.clear()
            await self._ready.wait()
            conn = await self._connection()
            if conn is None or not conn.is_ready:
                # Raft resends on its own schedule; stale messages only cost bandwidth.
                self._queue.clear()
                continue
            while self._queue:
                msg = self._queue.popleft()
                try:
                    await conn.send(RaftMessage(encode_message(msg)))
                except RadosError as exc:  # too large, or the connection closed meanwhile
                    log.warning("raft: dropping %s to %x: %s", type(msg).__name__, self._id, exc)

    async def _connection(self) -> Connection | None:
        target = self._t._resolve(self._id)
        if target is None:
            return None
        name, addr = target
        conn = self._conn
        if conn is not None and not conn.is_closed and (conn.peer_name, conn.peer_addr) == target:
            return conn
        if conn is not None:
            conn.mark_down()
            self._conn = None
        try:
            async with asyncio.timeout(self._t._connect_timeout):
                self._conn = await self._t._messenger.connect(addr, name)
        except (OSError, RadosError, TimeoutError) as exc:
            log.debug("raft: cannot reach %s at %s:%d: %s", name, *addr, exc)
            # Pace the retries: the next message will try again.
            await asyncio.sleep(self._t._connect_timeout / 4)
            return None
        return self._conn


def decode_raft(msg: RaftMessage) -> Message:
    """The Raft message inside a :class:`RaftMessage`; RadosError on a malformed one."""
    try:
        return decode_message(msg.data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise RadosError(f"malformed raft message: {exc}") from None
