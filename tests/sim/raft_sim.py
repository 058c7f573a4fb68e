"""A seeded, deterministic simulation of a Raft group under faults.

Virtual time is integer milliseconds. A single seeded RNG drives the network (loss,
delay, duplication and therefore reordering), partitions (symmetric and one-way),
crashes and restarts, membership changes and a client that proposes values and issues
linearizable reads. A crashed node keeps exactly what its storage made durable (saves
without sync since the last synced one are lost): the core is discarded and rebuilt
from ``Storage.load()``.

A leader's Readys are persisted in the background, as the driver's storage thread does:
each save reaches the storage only after a random delay (``write_delay_ms``, often
longer than a round trip to a follower), in order behind the earlier ones, and the core
hears of it through ``persisted``; a Ready that must be durable before its messages
leave first waits for every save before it. A crash loses the background saves not yet
done (all of them, or all but a prefix), so a leader whose own copy was counted toward a
commit before it was durable would lose acknowledged writes. As the driver may, a leader
with no background save pending sometimes (``leader_inline``) persists a Ready on the
spot instead, after sending its messages, and advances it as durable.

Invariants are checked as the run goes (each raises :class:`InvariantViolation`):

* election safety: at most one leader per term;
* log matching: two persisted entries with the same (index, term) carry the same data
  and follow entries of the same term, so by induction the whole prefixes agree;
* leader completeness: a new leader holds every entry any node has applied;
* state-machine safety: no two nodes apply different entries at one index, and every
  node applies indexes in order without gaps;
* reads are linearizable: a ReadIndex answer covers every write acknowledged before the
  read was issued;
* acknowledged writes are never lost, and (liveness) once the network heals and crashes
  stop, a new write commits and every voter converges within a bounded time.
"""

from __future__ import annotations

import bisect
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from radospy.raft import (
    NO_NODE,
    ConfChange,
    ConfChangeOp,
    Config,
    Entry,
    EntryKind,
    MemoryStorage,
    Message,
    ProposalError,
    RaftNode,
    Ready,
    Role,
    Snapshot,
    Storage,
    save_ready,
)
from radospy.raft.messages import MsgSnap

TICK_MS = 10
ELECTION_TICK = 10


class InvariantViolation(AssertionError):
    """A safety or liveness property of Raft did not hold."""


@dataclass(frozen=True)
class SimConfig:
    """One simulated scenario; everything random derives from ``seed``."""

    seed: int
    voters: int = 3
    spares: int = 0
    """Extra node ids that membership changes may add."""
    fault_ms: int = 3000
    """Length of the phase with faults; a healing phase follows."""
    loss: float = 0.05
    duplicate: float = 0.02
    max_delay_ms: int = 15
    fault_every_ms: int = 150
    crashes: bool = True
    partitions: bool = True
    membership: bool = False
    compact_after: int = 0
    """Compact once this many entries are applied past the snapshot (0: never)."""
    pre_vote: bool = True
    check_quorum: bool = True
    crash_in_ready: float = 0.002
    """Chance of crashing in the middle of carrying out a Ready."""
    converge_ms: int = 6000
    """Liveness bound: time allowed, after healing, to commit and converge."""
    write_delay_ms: int = 30
    """A background save takes 1..this many ms (0: leaders persist in the foreground)."""
    leader_inline: float = 0.3
    """Chance that a leader with no background save pending persists a Ready at once."""
    commit_delay_ms: int = 5
    """A leader sends a commit no proposal carried after 0..this many ms."""


@dataclass
class SimStats:
    """What happened in a run (for tests that want a scenario to have been exercised)."""

    acked: int = 0
    reads: int = 0
    crashes: int = 0
    snapshots_sent: int = 0
    conf_changes: int = 0
    max_term: int = 0
    leaders: dict[int, int] = field(default_factory=dict)


class SimNode:
    """A node's durable storage plus, while it is up, its core and state machine."""

    def __init__(self, node_id: int, storage: Storage, founding: tuple[int, ...]) -> None:
        self.id = node_id
        self.storage = storage
        self.founding = founding
        self.raft: RaftNode | None = None
        self.values: list[bytes] = []
        self.applied = 0
        self.restarts = 0
        self.writing: list[tuple[int, Ready]] = []
        """Background saves not yet on storage: (when done, Ready), in order."""
        self.commit_timer = False
        """Whether a leader's send_commit is due (the driver's commit_delay)."""

    def start(self, sim: SimConfig) -> None:
        """Boot from whatever storage holds (a fresh founder bootstraps)."""
        self.restarts += 1
        state = self.storage.load()
        rng = random.Random(sim.seed * 7919 + self.id * 104729 + self.restarts)
        cfg = Config(
            self.id,
            rng,
            peers=self.founding,
            election_tick=ELECTION_TICK,
            pre_vote=sim.pre_vote,
            check_quorum=sim.check_quorum,
        )
        self.raft = RaftNode(cfg, state)
        self.values, self.applied = [], 0
        self.writing = []
        self.commit_timer = False
        if state.snapshot is not None:
            self.restore(state.snapshot)

    def restore(self, snap: Snapshot) -> None:
        """Reset the state machine to a snapshot."""
        self.values = list(msgspec.msgpack.decode(snap.data, type=list[bytes]))
        self.applied = snap.index


class Sim:
    """Runs one scenario to completion; :meth:`run` raises on any violation."""

    def __init__(
        self, cfg: SimConfig, storage_factory: Callable[[int], Storage] | None = None
    ) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.now = 0
        self._seq = 0
        self._events: list[tuple[int, int, str, object]] = []
        self._memory: dict[int, MemoryStorage] = {}
        self._factory = storage_factory or self._memory_storage
        founding = tuple(range(1, cfg.voters + 1))
        self.nodes: dict[int, SimNode] = {}
        for nid in range(1, cfg.voters + cfg.spares + 1):
            self.nodes[nid] = SimNode(
                nid, self._factory(nid), founding if nid <= cfg.voters else ()
            )
        self.blocked: set[tuple[int, int]] = set()
        self.loss = cfg.loss
        self.duplicate = cfg.duplicate
        self.faults_on = True
        self.stats = SimStats()
        # Global knowledge the invariants are checked against.
        self.persisted: dict[tuple[int, int], tuple[EntryKind, bytes, int | None]] = {}
        self.applied: dict[int, Entry] = {}
        self.max_applied = 0
        self.commit_terms: list[int] = [1] * cfg.voters
        self._checked_terms: set[int] = set()
        # The client.
        self.pending: set[bytes] = set()
        self.acked: dict[bytes, int] = {}
        self.max_acked_index = 0
        self.reads: dict[bytes, int] = {}
        self.served: set[bytes] = set()
        self.target = 1
        self._counter = 0

    def _memory_storage(self, node_id: int) -> Storage:
        # The same object across restarts: it plays the disk.
        return self._memory.setdefault(node_id, MemoryStorage())

    # --- scheduling -----------------------------------------------------------------

    def _at(self, time: int, kind: str, payload: object = None) -> None:
        self._seq += 1
        heapq.heappush(self._events, (time, self._seq, kind, payload))

    def run(self) -> SimStats:
        """Fault phase, then heal and check liveness and convergence."""
        for nid in range(1, self.cfg.voters + 1):
            self.nodes[nid].start(self.cfg)
            self._at(self.rng.randrange(TICK_MS), "tick", nid)
        self._at(50, "client")
        self._at(80, "read")
        self._at(self.cfg.fault_every_ms, "fault")
        self._run_until(self.cfg.fault_ms)
        self._heal()
        self._check_liveness()
        return self.stats

    def _run_until(self, end: int, done: Callable[[], bool] | None = None) -> bool:
        while self._events and self._events[0][0] <= end:
            time, _, kind, payload = heapq.heappop(self._events)
            self.now = time
            self._dispatch(kind, payload)
            if done is not None and done():
                return True
        self.now = end
        return False

    def _dispatch(self, kind: str, payload: object) -> None:
        if kind == "tick":
            assert isinstance(payload, int)
            self._tick(payload)
        elif kind == "deliver":
            self._deliver(payload)  # type: ignore[arg-type]
        elif kind == "client":
            self._client_write()
            self._at(self.now + self.rng.randrange(5, 40), "client")
        elif kind == "read":
            self._client_read()
            self._at(self.now + self.rng.randrange(20, 80), "read")
        elif kind == "written":
            assert isinstance(payload, tuple)
            self._written(*payload)
        elif kind == "send_commit":
            assert isinstance(payload, tuple)
            self._send_commit(*payload)
        elif kind == "persisted":
            assert isinstance(payload, tuple)
            self._persisted(*payload)
        elif kind == "reboot":
            assert isinstance(payload, int)
            node = self.nodes[payload]
            if node.raft is None and self.faults_on:
                self._restart(node)
        elif kind == "fault" and self.faults_on:
            self._fault()
            self._at(self.now + self.rng.randrange(1, 2 * self.cfg.fault_every_ms), "fault")

    # --- nodes ----------------------------------------------------------------------

    def _tick(self, nid: int) -> None:
        node = self.nodes[nid]
        if node.raft is not None:
            node.raft.tick()
            self._after_input(node)
        self._at(self.now + TICK_MS, "tick", nid)

    def _deliver(self, msg: Message) -> None:
        node = self.nodes[msg.to]
        if node.raft is None or (msg.frm, msg.to) in self.blocked:
            return
        if isinstance(msg, MsgSnap):
            self.stats.snapshots_sent += 1
        node.raft.step(msg)
        self._after_input(node)

    def _after_input(self, node: SimNode) -> None:
        while node.raft is not None and node.raft.has_ready():
            self._handle_ready(node, node.raft.ready())
        if node.raft is not None:
            self._check_leader(node, node.raft)
            if node.raft.commit_unsent and not node.commit_timer:
                # A new commit waits a little for a proposal's append to carry it.
                node.commit_timer = True
                when = self.now + self.rng.randrange(self.cfg.commit_delay_ms + 1)
                self._at(when, "send_commit", (node.id, node.raft))

    def _send_commit(self, nid: int, raft: RaftNode) -> None:
        node = self.nodes[nid]
        if node.raft is raft:
            node.commit_timer = False
            raft.send_commit()
            self._after_input(node)

    def _handle_ready(self, node: SimNode, rd: Ready) -> None:
        raft = node.raft
        assert raft is not None
        self._check_persisted(raft, rd)
        crash = self.faults_on and self.cfg.crashes and self.rng.random() < self.cfg.crash_in_ready
        # Crash between persisting and sending (whichever comes first), or before
        # applying.
        background = rd.send_first and self.cfg.write_delay_ms > 0
        if background and not node.writing and self.rng.random() < self.cfg.leader_inline:
            background = False
        first, then = self._save_now, self._send_all
        if rd.send_first:
            first, then = then, (self._save_later if background else first)
        first(node, rd)
        if crash and self.rng.random() < 0.5:
            self._crash(node)
            return
        then(node, rd)
        if crash:
            self._crash(node)
            return
        if rd.snapshot is not None:
            node.restore(rd.snapshot)
            self._check_snapshot(rd.snapshot)
        for e in rd.committed_entries:
            self._apply(node, e)
        raft.advance(rd, durable=not background)
        for rs in rd.read_states:
            self._serve_read(node, rs.ctx, rs.index)
        self._maybe_compact(node, raft)

    def _send_all(self, _node: SimNode, rd: Ready) -> None:
        for m in rd.messages:
            self._send(m)

    def _save_now(self, node: SimNode, rd: Ready) -> None:
        """Persist ``rd`` before going on, behind every background save."""
        self._finish_writes(node, len(node.writing))
        save_ready(node.storage, rd)

    def _save_later(self, node: SimNode, rd: Ready) -> None:
        """Start persisting ``rd`` in the background; done after the earlier saves."""
        after = node.writing[-1][0] if node.writing else self.now
        done = max(after, self.now + 1 + self.rng.randrange(self.cfg.write_delay_ms))
        node.writing.append((done, rd))
        self._at(done, "written", (node.id, node.raft))

    def _written(self, nid: int, raft: RaftNode) -> None:
        node = self.nodes[nid]
        if node.raft is raft:  # else it crashed meanwhile, losing what was not done
            done = sum(1 for when, _ in node.writing if when <= self.now)
            self._finish_writes(node, done)

    def _persisted(self, nid: int, raft: RaftNode, index: int, term: int) -> None:
        node = self.nodes[nid]
        if node.raft is raft:
            raft.persisted(index, term)
            self._after_input(node)

    def _finish_writes(self, node: SimNode, count: int) -> None:
        """The first ``count`` background saves reach the storage; the core hears of
        each (later, as the driver's loop would, for saves waited for)."""
        done, node.writing = node.writing[:count], node.writing[count:]
        for _, rd in done:
            save_ready(node.storage, rd)
            if rd.entries:
                last = rd.entries[-1]
                self._at(self.now, "persisted", (node.id, node.raft, last.index, last.term))

    def _send(self, m: Message) -> None:
        if self.rng.random() < self.loss:
            return
        copies = 2 if self.rng.random() < self.duplicate else 1
        for _ in range(copies):
            delay = 1 + self.rng.randrange(self.cfg.max_delay_ms)
            self._at(self.now + delay, "deliver", m)

    def _apply(self, node: SimNode, e: Entry) -> None:
        if e.index != node.applied + 1:
            raise InvariantViolation(f"node {node.id} applied {e.index} after {node.applied}")
        seen = self.applied.get(e.index)
        if seen is None:
            self.applied[e.index] = e
            self.max_applied = max(self.max_applied, e.index)
        elif seen != e:
            raise InvariantViolation(f"index {e.index}: node {node.id} applied {e}, not {seen}")
        node.applied = e.index
        if e.kind is EntryKind.NORMAL and e.data:
            node.values.append(e.data)
            if e.data in self.pending:
                self.pending.discard(e.data)
                self.acked[e.data] = e.index
                self.max_acked_index = max(self.max_acked_index, e.index)
                self.stats.acked += 1
        elif e.kind is EntryKind.CONF_CHANGE:
            self.stats.conf_changes += 1

    def _maybe_compact(self, node: SimNode, raft: RaftNode) -> None:
        every = self.cfg.compact_after
        if every and node.applied - raft.log.snapshot.index >= every:
            raft.compact(node.applied, msgspec.msgpack.encode(node.values))
            self._handle_ready(node, raft.ready())

    def _crash(self, node: SimNode) -> None:
        # Background saves still running: a prefix of them may have made it.
        self._finish_writes(node, self.rng.randrange(len(node.writing) + 1))
        node.raft = None
        node.writing = []
        if isinstance(node.storage, MemoryStorage):
            node.storage.crash()
        self.stats.crashes += 1
        if self.rng.random() < 0.5:
            # A quick reboot: the node is back while the election it voted in is on.
            self._at(self.now + 1 + self.rng.randrange(3 * TICK_MS), "reboot", node.id)

    def _restart(self, node: SimNode) -> None:
        node.storage.close()
        node.storage = self._factory(node.id)
        node.start(self.cfg)
        self._check_restart(node)

    # --- invariants -----------------------------------------------------------------

    def _check_persisted(self, raft: RaftNode, rd: Ready) -> None:
        for e in rd.entries:
            prev_term = raft.log.term(e.index - 1)
            key = (e.index, e.term)
            value = (e.kind, e.data, prev_term)
            seen = self.persisted.setdefault(key, value)
            if seen != value:
                raise InvariantViolation(f"log matching broken at {key}: {value} vs {seen}")

    def _check_leader(self, node: SimNode, raft: RaftNode) -> None:
        self.stats.max_term = max(self.stats.max_term, raft.term)
        if raft.role is not Role.LEADER:
            return
        # Only a leader moves the commit index first: note the term each index was
        # first committed in.
        while len(self.commit_terms) < raft.committed:
            self.commit_terms.append(raft.term)
        known = self.stats.leaders.setdefault(raft.term, node.id)
        if known != node.id:
            raise InvariantViolation(f"two leaders in term {raft.term}: {known}, {node.id}")
        if known == node.id and raft.term in self._checked_terms:
            return
        self._checked_terms.add(raft.term)
        # Leader completeness: it holds every entry committed in an earlier term; by log
        # matching the last such entry stands for all of them.
        top = bisect.bisect_left(self.commit_terms, raft.term)
        if top > raft.log.snapshot.index and raft.log.term(top) != self._term_at(top):
            raise InvariantViolation(
                f"leader {node.id} of term {raft.term} lacks committed entry {top}"
            )

    def _term_at(self, index: int) -> int | None:
        entry = self.applied.get(index)
        if entry is not None:
            return entry.term
        terms = {t for (i, t) in self.persisted if i == index}
        return terms.pop() if len(terms) == 1 else None

    def _check_snapshot(self, snap: Snapshot) -> None:
        entry = self.applied.get(snap.index)
        if entry is not None and entry.term != snap.term:
            raise InvariantViolation(f"snapshot at {snap.index} has term {snap.term}")
        expected = [
            e.data
            for i in range(1, snap.index + 1)
            if (e := self.applied.get(i)) is not None and e.kind is EntryKind.NORMAL and e.data
        ]
        got = msgspec.msgpack.decode(snap.data, type=list[bytes])
        if snap.index <= self.max_applied and got != expected:
            raise InvariantViolation(f"snapshot at {snap.index} disagrees with applied history")

    def _check_restart(self, node: SimNode) -> None:
        """Every acknowledged write the node had committed survived its crash."""
        raft = node.raft
        assert raft is not None
        for value, index in self.acked.items():
            if index > raft.log.committed:
                continue
            if index > raft.log.snapshot.index:
                held = raft.log.entry(index).data
            else:
                held = value if value in node.values else None
            if held != value:
                raise InvariantViolation(f"node {node.id} lost acked {value!r} at {index}")

    # --- client ---------------------------------------------------------------------

    def _live(self) -> list[SimNode]:
        return [n for n in self.nodes.values() if n.raft is not None]

    def _client_write(self) -> None:
        node = self.nodes.get(self.target)
        if node is None or node.raft is None:
            live = self._live()
            if not live:
                return
            node = self.rng.choice(live)
        assert node.raft is not None
        self._counter += 1
        value = f"s{self.cfg.seed}-v{self._counter}".encode()
        try:
            node.raft.propose(value)
        except ProposalError as e:
            leader = getattr(e, "leader", NO_NODE)
            self.target = leader if leader != NO_NODE else self.rng.choice(list(self.nodes))
            return
        self.pending.add(value)
        self._after_input(node)

    def _client_read(self) -> None:
        live = self._live()
        if not live:
            return
        node = self.rng.choice(live)
        assert node.raft is not None
        self._counter += 1
        ctx = f"r{node.id}-{self._counter}".encode()
        try:
            node.raft.read_index(ctx)
        except ProposalError:
            return
        self.reads[ctx] = self.max_acked_index
        self._after_input(node)

    def _serve_read(self, node: SimNode, ctx: bytes, index: int) -> None:
        floor = self.reads.pop(ctx, None)
        if floor is None:
            if ctx not in self.served:
                raise InvariantViolation(f"read state for unknown ctx {ctx!r}")
            return  # the network duplicated the request or its answer
        self.served.add(ctx)
        if index < floor:
            raise InvariantViolation(f"read {ctx!r} at {index} misses acked write at {floor}")
        self.stats.reads += 1

    # --- faults ---------------------------------------------------------------------

    def _fault(self) -> None:
        cfg = self.cfg
        # Heals and restarts outweigh new faults so the group spends time both broken
        # and working.
        choices = ["heal"] * 3
        if cfg.partitions:
            choices += ["isolate", "split", "one_way"]
        if cfg.crashes:
            choices += ["crash", "restart", "restart"]
        if cfg.membership:
            choices += ["membership"] * 3
        action = self.rng.choice(choices)
        ids = sorted(self.nodes)
        if action == "heal":
            self.blocked.clear()
        elif action == "isolate":
            victim = self.rng.choice(ids)
            self._cut([victim], [i for i in ids if i != victim])
        elif action == "split":
            shuffled = self.rng.sample(ids, len(ids))
            half = self.rng.randrange(1, len(ids))
            self._cut(shuffled[:half], shuffled[half:])
        elif action == "one_way":
            a, b = self.rng.sample(ids, 2)
            self.blocked.add((a, b))
        elif action == "crash":
            live = self._live()
            # Mostly keep a majority up; sometimes take the whole group down.
            if live and (len(live) > len(self.nodes) // 2 + 1 or self.rng.random() < 0.2):
                self._crash(self.rng.choice(live))
        elif action == "restart":
            down = [n for n in self.nodes.values() if n.raft is None and self._started(n)]
            if down:
                self._restart(self.rng.choice(down))
        else:
            self._change_membership()

    def _cut(self, side_a: list[int], side_b: list[int]) -> None:
        for a in side_a:
            for b in side_b:
                self.blocked.add((a, b))
                self.blocked.add((b, a))

    @staticmethod
    def _started(node: SimNode) -> bool:
        return node.restarts > 0

    def _leader(self) -> SimNode | None:
        for n in self._live():
            assert n.raft is not None
            if n.raft.role is Role.LEADER:
                return n
        return None

    def _change_membership(self) -> None:
        leader = self._leader()
        if leader is None or leader.raft is None:
            return
        voters = set(leader.raft.voters)
        outside = [i for i in sorted(self.nodes) if i not in voters]
        if outside and (len(voters) <= 3 or self.rng.random() < 0.5):
            change = ConfChange(ConfChangeOp.ADD_VOTER, self.rng.choice(outside))
        elif len(voters) > 3:
            change = ConfChange(ConfChangeOp.REMOVE_VOTER, self.rng.choice(sorted(voters)))
        else:
            return
        try:
            leader.raft.propose_conf_change(change)
        except ProposalError:
            return
        newcomer = self.nodes[change.node_id]
        if change.op is ConfChangeOp.ADD_VOTER and not self._started(newcomer):
            newcomer.start(self.cfg)
            self._at(self.now + self.rng.randrange(TICK_MS), "tick", newcomer.id)
        self._after_input(leader)

    # --- healing and liveness -------------------------------------------------------

    def _heal(self) -> None:
        self.faults_on = False
        self.blocked.clear()
        self.loss = 0.0
        self.duplicate = 0.0
        for node in self.nodes.values():
            if node.raft is None and self._started(node):
                self._restart(node)

    def _check_liveness(self) -> None:
        final = f"s{self.cfg.seed}-final".encode()
        deadline = self.now + self.cfg.converge_ms
        self.pending.add(final)

        # Retry the proposal every 50 ms of virtual time until it is acknowledged.
        self._at(self.now + 50, "noop")
        while final not in self.acked:
            if self.now >= deadline or not self._events:
                raise InvariantViolation(f"final write not committed by {deadline} ms")
            time, _, kind, payload = heapq.heappop(self._events)
            self.now = time
            if kind == "noop":
                self._retry_final(final)
                self._at(self.now + 50, "noop")
            else:
                self._dispatch(kind, payload)
        self._converge(deadline)

    def _retry_final(self, final: bytes) -> None:
        leader = self._leader()
        if leader is None or leader.raft is None or final in self.acked:
            return
        try:
            leader.raft.propose(final)
        except ProposalError:
            return
        self._after_input(leader)

    def _converge(self, deadline: int) -> None:
        target = self.max_applied
        leader = self._leader()
        voters = leader.raft.voters if leader is not None and leader.raft is not None else ()

        def caught_up() -> bool:
            return all(self.nodes[v].applied >= target for v in voters)

        if not caught_up() and not self._run_until(deadline, caught_up):
            lag = {v: self.nodes[v].applied for v in voters}
            raise InvariantViolation(f"voters did not reach {target} by {deadline}: {lag}")
        reference = self.nodes[voters[0]].values if voters else []
        for v in voters:
            node = self.nodes[v]
            if node.values[: len(reference)] != reference[: len(node.values)]:
                raise InvariantViolation(f"node {v} state machine diverged")
            have = set(node.values)
            missing = [x for x, i in self.acked.items() if i <= node.applied and x not in have]
            if missing:
                raise InvariantViolation(f"node {v} lost acknowledged writes {missing[:3]}")


def run_seed(cfg: SimConfig, storage_factory: Callable[[int], Storage] | None = None) -> SimStats:
    """Run one scenario; raises :class:`InvariantViolation` if Raft misbehaved."""
    return Sim(cfg, storage_factory).run()
