"""The sans-io Raft state machine (in the manner of etcd's ``raft`` package).

A :class:`RaftNode` does no I/O, reads no clock and owns no global randomness. Its driver
feeds it inputs — :meth:`RaftNode.step` for a message from a peer, :meth:`RaftNode.tick`
for each clock tick, :meth:`RaftNode.propose` and friends for local requests — and then
carries out a :class:`Ready`, in this order::

    rd = node.ready()
    save_ready(storage, rd)         # snapshot, entries, hard state: atomically, and
                                    # durably when rd.must_sync
    send(rd.messages)               # only once the above is on disk (but see send_first)
    apply(rd.snapshot, rd.committed_entries)
    node.advance(rd)
    serve(rd.read_states)           # each once applied >= its index

and steps nothing into the node between ``ready()`` and the end of ``save_ready``. A
leader's Ready (``send_first``) may instead be persisted in the background, in order
behind every earlier save: the driver then calls ``advance(rd, durable=False)`` and,
once the save is on stable storage, ``persisted(index, term)`` of its last entry. The
leader counts its own copy of an entry toward a commit only from then on (as etcd's
asynchronous storage writes do), so a commit never rests on a copy a crash can lose.

Design choices (see the thesis and etcd for the alternatives):

* Membership changes add or remove one voter per CONF_CHANGE entry and take effect when
  the entry is **committed** (as etcd does), never on append, so a truncated log never
  has to roll a configuration back. A leader refuses a new change while one is still
  uncommitted, and a new leader must first commit its own no-op: together these close
  the single-server-change hole described on raft-dev in 2015.
* Linearizable reads use ReadIndex (thesis §6.4): the leader records its commit index,
  confirms it still leads with a heartbeat round that carries the request's context, and
  only then releases the index; followers forward the request to the leader. A leader
  that has not yet committed an entry of its term queues reads until it has.
* Proposals are never forwarded: a non-leader raises :class:`NotLeader` with its hint.
* A new commit index is not broadcast at once (etcd's leader sends an empty append at
  every commit): it rides on the next append to each follower, and the driver calls
  :meth:`RaftNode.send_commit` for what is still unsent when no proposal came in time
  (:attr:`RaftNode.commit_unsent`). Heartbeats carry it too.
"""

from __future__ import annotations

import enum
import random
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from radospy.raft.log import RaftLog
from radospy.raft.messages import (
    NO_NODE,
    ConfChange,
    ConfChangeOp,
    ConfState,
    Entry,
    EntryKind,
    HardState,
    Message,
    MsgApp,
    MsgAppResp,
    MsgHeartbeat,
    MsgHeartbeatResp,
    MsgPreVote,
    MsgPreVoteResp,
    MsgReadIndex,
    MsgReadIndexResp,
    MsgSnap,
    MsgTimeoutNow,
    MsgVote,
    MsgVoteResp,
    PersistentState,
    Snapshot,
)
from radospy.raft.progress import Progress, ProgressState


class Role(enum.Enum):
    """A node's role in its current term."""

    FOLLOWER = "follower"
    PRE_CANDIDATE = "pre-candidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


class ProposalError(Exception):
    """A local request the core refused; nothing was appended or sent."""


class NotLeader(ProposalError):
    """Only the leader takes proposals; ``leader`` is its id if known, else NO_NODE."""

    def __init__(self, leader: int) -> None:
        super().__init__(f"not the leader (leader hint: {leader or 'unknown'})")
        self.leader = leader


class LeadershipTransferring(ProposalError):
    """The leader is handing over to another node and takes no proposals meanwhile."""


class ConfChangePending(ProposalError):
    """An earlier membership change (or this leader's first entry) is not yet committed."""


class InvalidConfChange(ProposalError):
    """The change would add a present voter, remove an absent one or leave no voter."""


@dataclass(frozen=True)
class Config:
    """Per-node parameters. ``rng`` randomises election timeouts; seed it for replay."""

    id: int
    rng: random.Random
    peers: tuple[int, ...] = ()
    """The initial voters; used only to bootstrap a node whose storage is empty. A node
    that joins an existing group starts with no peers and learns them from its leader."""
    election_tick: int = 10
    heartbeat_tick: int = 1
    pre_vote: bool = True
    check_quorum: bool = True
    max_entries_per_msg: int = 64
    max_inflight: int = 64
    applied: int = 0
    """The index the application's own durable state machine already reflects."""

    def __post_init__(self) -> None:
        if self.id <= NO_NODE:
            raise ValueError("node id must be positive")
        if self.heartbeat_tick < 1 or self.election_tick <= self.heartbeat_tick:
            raise ValueError("need 1 <= heartbeat_tick < election_tick")
        if self.max_inflight < 1 or self.max_entries_per_msg < 1:
            raise ValueError("max_inflight and max_entries_per_msg must be positive")


@dataclass(frozen=True)
class SoftState:
    """Volatile state worth telling the application about when it changes."""

    lead: int
    role: Role


@dataclass(frozen=True)
class ReadState:
    """A linearizable read for ``ctx`` may be served once applied reaches ``index``."""

    index: int
    ctx: bytes


@dataclass(frozen=True)
class Ready:
    """Everything the driver must do, in field order: persist, send, apply."""

    soft_state: SoftState | None = None
    hard_state: HardState | None = None
    snapshot: Snapshot | None = None
    """Received from the leader: persist it (it replaces the whole log) and restore the
    state machine from it before applying ``committed_entries``."""
    compaction: Snapshot | None = None
    """Taken locally by :meth:`RaftNode.compact`: persist it and drop the entries it
    covers; the state machine already reflects it."""
    entries: tuple[Entry, ...] = ()
    """Persist these, overwriting any stored entries from ``entries[0].index`` on."""
    messages: tuple[Message, ...] = ()
    committed_entries: tuple[Entry, ...] = ()
    read_states: tuple[ReadState, ...] = ()
    send_first: bool = False
    """Whether ``messages`` may go out before ``entries`` are persisted, and the
    persisting may go on in the background, so that the followers write to their disks
    while the leader writes to its own (thesis §10.2.1). True for a leader whose term
    and vote are already durable: its messages (appends, heartbeats, snapshots, read
    answers) promise nothing about its own disk. A follower acknowledges only what it
    persisted itself, and the leader counts its own entries toward a commit only once
    the driver reports them durable (:meth:`RaftNode.advance`, :meth:`RaftNode.persisted`)."""
    must_sync: bool = False
    """Whether persisting must reach stable storage before the messages go out: true
    for new entries, a snapshot or compaction, or a new term or vote. A commit index
    alone may be written lazily (etcd's ``MustSync``): a node that forgets how far it
    had committed re-learns it from the leader, and nothing it said depended on it."""


@dataclass
class _ReadRequest:
    index: int
    requester: int
    acks: set[int] = field(default_factory=set)


def bootstrap_entries(peers: Iterable[int]) -> list[Entry]:
    """The conf-change entries (term 1, committed) every founding member starts with.

    Keeping the founding configuration in the log, rather than in a snapshot, lets a
    node that joins later learn it by plain replication.
    """
    return [
        Entry(1, i, EntryKind.CONF_CHANGE, ConfChange(ConfChangeOp.ADD_VOTER, p).encode())
        for i, p in enumerate(sorted(set(peers)), start=1)
    ]


class RaftNode:
    """One member of a Raft group: a pure state machine over messages and ticks."""

    def __init__(self, config: Config, state: PersistentState) -> None:
        self.id = config.id
        self._cfg = config
        snapshot = state.snapshot or Snapshot()
        hard = state.hard_state
        fresh = not state.entries and state.snapshot is None and hard == HardState()
        self.log = RaftLog(snapshot, state.entries, hard.commit)
        self._prev_hard = hard
        if fresh and config.peers:
            # Bootstrap entries start unstable so the first Ready persists them.
            boot = bootstrap_entries(config.peers)
            self.log.append(boot)
            self.log.commit_to(len(boot))
            hard = HardState(term=1, commit=len(boot))
        self.log.applied = max(snapshot.index, min(config.applied, self.log.committed))
        self.term = hard.term
        self.vote = hard.vote
        self.role = Role.FOLLOWER
        self.lead = NO_NODE
        self._conf = snapshot.conf
        self._conf_index = snapshot.index
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._randomized_timeout = config.election_tick
        self._votes: dict[int, bool] = {}
        self.progress: dict[int, Progress] = {}
        self._msgs: list[Message] = []
        self._read_states: list[ReadState] = []
        self._reads: OrderedDict[bytes, _ReadRequest] = OrderedDict()
        self._reads_before_commit: list[tuple[bytes, int]] = []
        self._pending_conf_index = 0
        self._lead_transferee = NO_NODE
        self._compaction: Snapshot | None = None
        self._prev_soft = SoftState(NO_NODE, Role.FOLLOWER)
        self._readying = False
        self._apply_committed_conf()
        self._become_follower(self.term, NO_NODE)

    # --- read-only views ------------------------------------------------------------

    @property
    def voters(self) -> tuple[int, ...]:
        """The voter set in force (as of the commit index)."""
        return self._conf.voters

    @property
    def conf_state(self) -> ConfState:
        """The configuration in force (as of the commit index)."""
        return self._conf

    @property
    def committed(self) -> int:
        """The highest index known to be committed."""
        return self.log.committed

    @property
    def applied(self) -> int:
        """The highest index handed to the application and advanced past."""
        return self.log.applied

    @property
    def promotable(self) -> bool:
        """Whether this node may campaign: only voters may."""
        return self.id in self._conf.voters

    def _quorum(self) -> int:
        return len(self._conf.voters) // 2 + 1

    # --- local inputs ---------------------------------------------------------------

    def tick(self) -> None:
        """Advance the logical clock by one tick."""
        if self.role is Role.LEADER:
            self._tick_leader()
        else:
            self._tick_election()
        self._apply_committed_conf()

    def campaign(self) -> None:
        """Start an election now (pre-vote first if enabled), as if the timer fired."""
        if self.role is not Role.LEADER and self.promotable:
            self._campaign(pre=self._cfg.pre_vote, transfer=False)
            self._apply_committed_conf()

    def propose(self, data: bytes) -> int:
        """Append ``data`` as a new entry; returns its index. The entry is committed
        once it comes back in ``Ready.committed_entries`` with this index and the term
        at proposal time; it may still be lost if leadership changes first."""
        self._check_can_propose()
        return self._append_and_send(EntryKind.NORMAL, data)

    def propose_conf_change(self, change: ConfChange) -> int:
        """Propose adding or removing one voter; returns the entry's index."""
        self._check_can_propose()
        if self._pending_conf_index > self.log.committed:
            raise ConfChangePending(
                f"entry {self._pending_conf_index} is not committed yet "
                f"(commit index {self.log.committed})"
            )
        voters = self._conf.voters
        if change.op is ConfChangeOp.ADD_VOTER and change.node_id in voters:
            raise InvalidConfChange(f"node {change.node_id} is already a voter")
        if change.op is ConfChangeOp.REMOVE_VOTER:
            if change.node_id not in voters:
                raise InvalidConfChange(f"node {change.node_id} is not a voter")
            if len(voters) == 1:
                raise InvalidConfChange("cannot remove the last voter")
        if change.node_id <= NO_NODE:
            raise InvalidConfChange("node id must be positive")
        index = self._append_and_send(EntryKind.CONF_CHANGE, change.encode())
        self._pending_conf_index = index
        return index

    def read_index(self, ctx: bytes) -> None:
        """Request a linearizable read; the answer comes back as a :class:`ReadState`
        carrying ``ctx``, which must be unique across the group (prefix the node id).
        Nothing comes back if leadership changes meanwhile: retry after a timeout."""
        if self.role is Role.LEADER:
            self._leader_read(ctx, self.id)
        elif self.lead != NO_NODE:
            self._send(MsgReadIndex(self.id, self.lead, self.term, ctx))
        else:
            raise NotLeader(NO_NODE)

    def transfer_leadership(self, target: int) -> None:
        """Hand leadership to voter ``target`` once its log is caught up (thesis §3.10);
        abandoned if it has not happened within an election timeout."""
        if self.role is not Role.LEADER:
            raise NotLeader(self.lead)
        if target == self.id or target not in self.progress or target not in self.voters:
            raise ValueError(f"cannot transfer leadership to {target}")
        self._lead_transferee = target
        self._election_elapsed = 0
        if self.progress[target].match == self.log.last_index:
            self._send(MsgTimeoutNow(self.id, target, self.term))
        else:
            self._send_append(target)

    def compact(self, index: int, data: bytes) -> Snapshot:
        """Record the application's snapshot of its state as of applied ``index`` and
        drop the log up to it; the next Ready carries it as ``compaction``."""
        term = self.log.term(index)
        if index > self.log.applied or index <= self.log.snapshot.index or term is None:
            raise ValueError(
                f"cannot snapshot at {index}: applied {self.log.applied}, "
                f"compacted to {self.log.snapshot.index}"
            )
        snap = Snapshot(index, term, self._conf_at(index), data)
        self.log.compact(snap)
        self._compaction = snap
        return snap

    # --- Ready / advance ------------------------------------------------------------

    def has_ready(self) -> bool:
        """Whether :meth:`ready` would return anything to do."""
        return bool(
            self._msgs
            or self._read_states
            or self._compaction
            or self.log.snapshot_unstable
            or self.log.stable < self.log.last_index
            or self.log.applied < self.log.committed
            or self._hard_state() != self._prev_hard
            or self._soft_state() != self._prev_soft
        )

    def ready(self) -> Ready:
        """Collect the work accumulated since the last :meth:`advance`."""
        if self._readying:
            raise RuntimeError("advance() the previous Ready before asking for another")
        soft, hard = self._soft_state(), self._hard_state()
        entries = tuple(self.log.unstable_entries())
        new_vote = (hard.term, hard.vote) != (self._prev_hard.term, self._prev_hard.vote)
        rd = Ready(
            soft_state=soft if soft != self._prev_soft else None,
            hard_state=hard if hard != self._prev_hard else None,
            snapshot=self.log.snapshot if self.log.snapshot_unstable else None,
            compaction=self._compaction,
            entries=entries,
            messages=tuple(self._msgs),
            committed_entries=tuple(self.log.committed_to_apply()),
            read_states=tuple(self._read_states),
            send_first=self.role is Role.LEADER and not new_vote,
            must_sync=bool(entries or self.log.snapshot_unstable or self._compaction or new_vote),
        )
        self._prev_soft = soft
        self._msgs.clear()
        self._read_states.clear()
        self._compaction = None
        self._readying = True
        return rd

    def advance(self, rd: Ready, durable: bool = True) -> None:
        """Acknowledge that ``rd`` was sent, applied and persisted — or, with
        ``durable=False`` (only for a ``send_first`` Ready), handed to storage to be
        persisted in the background, in order: :meth:`persisted` tells when it is."""
        if not self._readying:
            raise RuntimeError("advance() without a Ready")
        if not durable and not rd.send_first:
            raise RuntimeError("only a leader's Ready may be persisted in the background")
        self._readying = False
        if rd.hard_state is not None:
            self._prev_hard = rd.hard_state
        if rd.snapshot is not None and rd.snapshot.index == self.log.snapshot.index:
            self.log.snapshot_unstable = False
        for e in reversed(rd.entries):
            # Entries replaced since the Ready was cut must be persisted again.
            if self.log.match_term(e.index, e.term):
                self.log.stable_to(e.index, e.term)
                break
        if rd.committed_entries:
            self.log.applied_to(rd.committed_entries[-1].index)
        if durable and rd.entries:
            self.persisted(rd.entries[-1].index, rd.entries[-1].term)

    def persisted(self, index: int, term: int) -> None:
        """Learn that the entries up to ``index`` (of ``term``) are on stable storage.

        Ignored when that entry was replaced meanwhile. A leader counts its own copy
        toward a commit from now on, which may commit and tell the followers."""
        if not self.log.durable_to(index, term) or self.role is not Role.LEADER:
            return
        me = self.progress.get(self.id)
        if me is not None and me.maybe_update(self.log.durable) and self._maybe_commit():
            self._apply_committed_conf()

    @property
    def commit_unsent(self) -> bool:
        """Whether this leader knows of a commit some follower has not been sent yet, as
        far as it was sent the entries: the next append to it will carry it, or
        :meth:`send_commit`."""
        if self.role is not Role.LEADER:
            return False
        return any(self._commit_owed(pid, pr) for pid, pr in self.progress.items())

    def send_commit(self) -> None:
        """Tell every follower that has not been sent it the commit index now, with an
        empty append (etcd's leader sends one at every commit; this one waits for the
        driver, so that the next proposal's append may carry it instead)."""
        if self.role is not Role.LEADER:
            return
        for pid, pr in self.progress.items():
            if self._commit_owed(pid, pr):
                self._send_append(pid, commit_only=True)
                # Even if nothing could go (a snapshot pending): the next append or
                # heartbeat carries it, and the driver must not be asked again.
                pr.sent_commit = max(pr.sent_commit, self.log.committed)

    def _commit_owed(self, pid: int, pr: Progress) -> bool:
        return (
            pid != self.id
            and pr.sent_commit < min(self.log.committed, pr.next - 1)
            and not pr.is_paused(self._cfg.max_inflight)
        )

    def _hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.log.committed)

    def _soft_state(self) -> SoftState:
        return SoftState(self.lead, self.role)

    # --- messages in ----------------------------------------------------------------

    def step(self, m: Message) -> None:
        """Process one message from a peer."""
        if m.to != self.id:
            raise ValueError(f"message for node {m.to} stepped into node {self.id}")
        if self._step_term(m):
            if isinstance(m, MsgVote | MsgPreVote):
                self._handle_vote_request(m)
            elif self.role is Role.LEADER:
                self._step_leader(m)
            elif self.role is Role.FOLLOWER:
                self._step_follower(m)
            else:
                self._step_candidate(m)
        self._apply_committed_conf()

    def _step_term(self, m: Message) -> bool:
        """Reconcile terms with the sender; False when ``m`` is to be dropped."""
        if m.term > self.term:
            if isinstance(m, MsgVote | MsgPreVote):
                forced = isinstance(m, MsgVote) and m.transfer
                in_lease = (
                    self._cfg.check_quorum
                    and self.lead != NO_NODE
                    and self._election_elapsed < self._cfg.election_tick
                )
                if in_lease and not forced:
                    # We heard from a live leader recently: a disruptive node should
                    # not be able to depose it (thesis §4.2.3).
                    return False
            if isinstance(m, MsgPreVote) or (isinstance(m, MsgPreVoteResp) and not m.reject):
                # Pre-votes are about a term nobody has entered yet.
                return True
            from_leader = isinstance(m, MsgApp | MsgHeartbeat | MsgSnap)
            self._become_follower(m.term, m.frm if from_leader else NO_NODE)
            return True
        if m.term < self.term:
            if isinstance(m, MsgApp | MsgHeartbeat) and (
                self._cfg.check_quorum or self._cfg.pre_vote
            ):
                # A stale leader, possibly cut off until now: our higher term makes it
                # step down; otherwise pre-vote would never let us depose it.
                self._send(MsgAppResp(self.id, m.frm, self.term, index=0))
            elif isinstance(m, MsgPreVote):
                self._send(MsgPreVoteResp(self.id, m.frm, self.term, reject=True))
            return False
        return True

    def _handle_vote_request(self, m: MsgVote | MsgPreVote) -> None:
        pre = isinstance(m, MsgPreVote)
        can_vote = (
            self.vote == m.frm
            or (self.vote == NO_NODE and self.lead == NO_NODE)
            or (pre and m.term > self.term)
        )
        resp = MsgPreVoteResp if pre else MsgVoteResp
        if can_vote and self.log.is_up_to_date(m.last_index, m.last_term):
            self._send(resp(self.id, m.frm, m.term, reject=False))
            if not pre:
                self._election_elapsed = 0
                self.vote = m.frm
        else:
            self._send(resp(self.id, m.frm, self.term, reject=True))

    def _step_follower(self, m: Message) -> None:
        if isinstance(m, MsgApp | MsgHeartbeat | MsgSnap):
            self._election_elapsed = 0
            self.lead = m.frm
            if isinstance(m, MsgApp):
                self._handle_append(m)
            elif isinstance(m, MsgHeartbeat):
                self._handle_heartbeat(m)
            else:
                self._handle_snapshot(m)
        elif isinstance(m, MsgTimeoutNow):
            if self.promotable:
                self._campaign(pre=False, transfer=True)
        elif isinstance(m, MsgReadIndexResp):
            self._read_states.append(ReadState(m.index, m.ctx))

    def _step_candidate(self, m: Message) -> None:
        if isinstance(m, MsgApp | MsgHeartbeat | MsgSnap):
            # A leader exists in our term (a pre-candidate's term is the current one).
            self._become_follower(self.term, m.frm)
            self._step_follower(m)
        elif self.role is Role.PRE_CANDIDATE and isinstance(m, MsgPreVoteResp):
            if m.reject or m.term == self.term + 1:
                self._tally(m.frm, not m.reject)
        elif self.role is Role.CANDIDATE and isinstance(m, MsgVoteResp):
            self._tally(m.frm, not m.reject)

    def _tally(self, voter: int, granted: bool) -> None:
        self._votes.setdefault(voter, granted)
        won, lost = self._poll()
        if won:
            if self.role is Role.PRE_CANDIDATE:
                self._campaign(pre=False, transfer=False)
            else:
                self._become_leader()
        elif lost:
            self._become_follower(self.term, NO_NODE)

    def _poll(self) -> tuple[bool, bool]:
        voters = self._conf.voters
        granted = sum(1 for v in voters if self._votes.get(v) is True)
        rejected = sum(1 for v in voters if self._votes.get(v) is False)
        q = self._quorum()
        return granted >= q, rejected > len(voters) - q

    # --- follower handlers ----------------------------------------------------------

    def _handle_append(self, m: MsgApp) -> None:
        if m.prev_index < self.log.committed:
            self._send(MsgAppResp(self.id, m.frm, self.term, index=self.log.committed))
            return
        last_new = self.log.maybe_append(m.prev_index, m.prev_term, m.commit, m.entries)
        if last_new is not None:
            if not m.quiet:
                self._send(MsgAppResp(self.id, m.frm, self.term, index=last_new))
            return
        hint_index, hint_term = self.log.find_conflict_by_term(
            min(m.prev_index, self.log.last_index), m.prev_term
        )
        self._send(
            MsgAppResp(
                self.id,
                m.frm,
                self.term,
                index=m.prev_index,
                reject=True,
                hint_index=hint_index,
                hint_term=hint_term,
            )
        )

    def _handle_heartbeat(self, m: MsgHeartbeat) -> None:
        self.log.commit_to(m.commit)
        self._send(MsgHeartbeatResp(self.id, m.frm, self.term, ctx=m.ctx))

    def _handle_snapshot(self, m: MsgSnap) -> None:
        snap = m.snapshot
        index = self.log.committed
        if snap.index <= index:
            pass
        elif self.log.match_term(snap.index, snap.term):
            # We already hold that prefix: just learn that it is committed.
            self.log.commit_to(snap.index)
            index = snap.index
        else:
            self.log.restore(snap)
            self._conf = snap.conf
            self._conf_index = snap.index
            index = snap.index
        self._send(MsgAppResp(self.id, m.frm, self.term, index=index))

    # --- leader ---------------------------------------------------------------------

    def _step_leader(self, m: Message) -> None:
        if isinstance(m, MsgReadIndex):
            self._leader_read(m.ctx, m.frm)
            return
        pr = self.progress.get(m.frm)
        if pr is None:
            return
        if isinstance(m, MsgAppResp):
            pr.recent_active = True
            if m.reject:
                self._handle_append_reject(m, pr)
            else:
                self._handle_append_ack(m, pr)
        elif isinstance(m, MsgHeartbeatResp):
            self._handle_heartbeat_resp(m, pr)

    def _handle_append_reject(self, m: MsgAppResp, pr: Progress) -> None:
        probe = m.hint_index
        if m.hint_term > 0:
            # Skip every entry of ours whose term is above the follower's hint term.
            probe, _ = self.log.find_conflict_by_term(m.hint_index, m.hint_term)
        if pr.maybe_decr_to(m.index, probe):
            if pr.state is ProgressState.REPLICATE:
                pr.become_probe()
            self._send_append(m.frm)

    def _handle_append_ack(self, m: MsgAppResp, pr: Progress) -> None:
        was_paused = pr.is_paused(self._cfg.max_inflight)
        moved = pr.maybe_update(m.index)
        if not moved and not (pr.state is ProgressState.PROBE and pr.match == m.index):
            return
        snapshot_landed = pr.state is ProgressState.SNAPSHOT and pr.match >= pr.pending_snapshot
        if pr.state is ProgressState.PROBE or snapshot_landed:
            pr.become_replicate()
        elif pr.state is ProgressState.REPLICATE:
            pr.free_to(m.index)
        # A new commit index goes to the followers with the next append (a proposal's,
        # or the one send_commit makes when the driver sees none coming).
        self._maybe_commit()
        if was_paused:
            self._send_append(m.frm)
        while self._send_append(m.frm, send_if_empty=False):
            pass
        if m.frm == self._lead_transferee and pr.match == self.log.last_index:
            self._send(MsgTimeoutNow(self.id, m.frm, self.term))

    def _handle_heartbeat_resp(self, m: MsgHeartbeatResp, pr: Progress) -> None:
        pr.recent_active = True
        pr.probe_sent = False
        if pr.state is ProgressState.REPLICATE and pr.is_paused(self._cfg.max_inflight):
            # A full window that survives a heartbeat round trip means MsgApps were
            # lost: restart from the last acknowledged index.
            pr.become_probe()
        if pr.match < self.log.last_index:
            self._send_append(m.frm)
        if m.ctx:
            self._ack_read(m.ctx, m.frm)

    def _tick_leader(self) -> None:
        self._heartbeat_elapsed += 1
        self._election_elapsed += 1
        for pr in self.progress.values():
            if pr.state is ProgressState.SNAPSHOT:
                pr.snapshot_ticks += 1
                if pr.snapshot_ticks >= self._cfg.election_tick:
                    # No answer to the snapshot: assume it was lost and probe again.
                    pr.become_probe()
        if self._election_elapsed >= self._cfg.election_tick:
            self._election_elapsed = 0
            if self._cfg.check_quorum and not self._quorum_active():
                self._become_follower(self.term, NO_NODE)
                return
            self._lead_transferee = NO_NODE
        if self._heartbeat_elapsed >= self._cfg.heartbeat_tick:
            self._heartbeat_elapsed = 0
            self._bcast_heartbeat()

    def _quorum_active(self) -> bool:
        active = sum(
            1
            for v in self._conf.voters
            if v == self.id or (v in self.progress and self.progress[v].recent_active)
        )
        for pid, pr in self.progress.items():
            if pid != self.id:
                pr.recent_active = False
        return active >= self._quorum()

    def _check_can_propose(self) -> None:
        if self.role is not Role.LEADER:
            raise NotLeader(self.lead)
        if self._lead_transferee != NO_NODE:
            raise LeadershipTransferring(f"handing leadership to {self._lead_transferee}")

    def _append_and_send(self, kind: EntryKind, data: bytes) -> int:
        index = self.log.last_index + 1
        self.log.append([Entry(self.term, index, kind, data)])
        # Our own copy counts once it is durable (persisted()), not now.
        self._bcast_append()
        return index

    def _maybe_commit(self) -> bool:
        """Commit the highest index a quorum holds, if it is of the current term
        (§5.4.2: older entries commit only indirectly)."""
        matches = sorted(
            (self.progress[v].match for v in self._conf.voters if v in self.progress),
            reverse=True,
        )
        q = self._quorum()
        if len(matches) < q:
            return False
        index = matches[q - 1]
        if index <= self.log.committed or self.log.term(index) != self.term:
            return False
        self.log.commit_to(index)
        self._release_reads_waiting_for_commit()
        return True

    def _bcast_append(self, commit_only: bool = False) -> None:
        for pid in self.progress:
            if pid != self.id:
                self._send_append(pid, commit_only=commit_only)

    def _bcast_heartbeat(self) -> None:
        ctx = next(reversed(self._reads)) if self._reads else b""
        for pid, pr in self.progress.items():
            if pid != self.id:
                commit = min(pr.match, self.log.committed)
                self._send(MsgHeartbeat(self.id, pid, self.term, commit=commit, ctx=ctx))
                pr.sent_commit = max(pr.sent_commit, commit)

    def _send_append(self, to: int, send_if_empty: bool = True, commit_only: bool = False) -> bool:
        """Send the next MsgApp (or a MsgSnap) to ``to``; whether anything was sent.

        ``commit_only``: sent to tell of a new commit index. An empty one then goes out
        quiet to a follower in REPLICATE: the answers to the entries it was sent are on
        their way (or lost, which the next heartbeat's answer shows), and an answer to
        this one would tell nothing new but cost the leader a message per follower.
        """
        pr = self.progress[to]
        if pr.is_paused(self._cfg.max_inflight):
            return False
        prev = pr.next - 1
        prev_term = self.log.term(prev)
        if prev_term is None:
            return self._send_snapshot(to, pr)
        last = self.log.last_index
        if pr.next > last and not send_if_empty:
            return False
        entries = self.log.slice(pr.next, last + 1, self._cfg.max_entries_per_msg)
        self._send(
            MsgApp(
                self.id,
                to,
                self.term,
                prev_index=prev,
                prev_term=prev_term,
                entries=tuple(entries),
                commit=self.log.committed,
                quiet=commit_only and not entries and pr.state is ProgressState.REPLICATE,
            )
        )
        pr.sent_entries(entries[-1].index if entries else None)
        pr.sent_commit = max(pr.sent_commit, self.log.committed)
        return True

    def _send_snapshot(self, to: int, pr: Progress) -> bool:
        if not pr.recent_active:
            # Snapshots are big: wait until the follower shows signs of life.
            return False
        snap = self.log.snapshot
        pr.become_snapshot(snap.index)
        self._send(MsgSnap(self.id, to, self.term, snapshot=snap))
        return True

    # --- ReadIndex ------------------------------------------------------------------

    def _leader_read(self, ctx: bytes, requester: int) -> None:
        if self.log.term(self.log.committed) != self.term:
            # Our commit index may lag the previous leader's until we commit our no-op.
            self._reads_before_commit.append((ctx, requester))
            return
        if self._quorum() == 1 and self.id in self._conf.voters:
            self._answer_read(ctx, requester, self.log.committed)
            return
        if ctx in self._reads:
            return
        self._reads[ctx] = _ReadRequest(self.log.committed, requester, {self.id})
        self._bcast_heartbeat()

    def _release_reads_waiting_for_commit(self) -> None:
        waiting, self._reads_before_commit = self._reads_before_commit, []
        for ctx, requester in waiting:
            self._leader_read(ctx, requester)

    def _ack_read(self, ctx: bytes, voter: int) -> None:
        req = self._reads.get(ctx)
        if req is None:
            return
        req.acks.add(voter)
        if sum(1 for v in self._conf.voters if v in req.acks) < self._quorum():
            return
        # A quorum confirmed us as leader after every earlier request was made too.
        while self._reads:
            done_ctx, done = self._reads.popitem(last=False)
            self._answer_read(done_ctx, done.requester, done.index)
            if done_ctx == ctx:
                break

    def _answer_read(self, ctx: bytes, requester: int, index: int) -> None:
        if requester == self.id:
            self._read_states.append(ReadState(index, ctx))
        else:
            self._send(MsgReadIndexResp(self.id, requester, self.term, index=index, ctx=ctx))

    # --- role changes ---------------------------------------------------------------

    def _reset(self, term: int) -> None:
        if term != self.term:
            self.term = term
            self.vote = NO_NODE
        self.lead = NO_NODE
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._randomized_timeout = self._cfg.election_tick + self._cfg.rng.randrange(
            self._cfg.election_tick
        )
        self._votes = {}
        self.progress = {}
        self._reads.clear()
        self._reads_before_commit = []
        self._lead_transferee = NO_NODE

    def _become_follower(self, term: int, lead: int) -> None:
        self._reset(term)
        self.role = Role.FOLLOWER
        self.lead = lead

    def _become_leader(self) -> None:
        self._reset(self.term)
        self.role = Role.LEADER
        self.lead = self.id
        last = self.log.last_index
        for v in self._conf.voters:
            self.progress[v] = Progress(match=0, next=last + 1)
        me = self.progress.setdefault(self.id, Progress(match=0, next=last + 1))
        me.match = self.log.durable
        me.recent_active = True
        me.become_replicate()
        # Conf changes of earlier terms may still be uncommitted in our log.
        self._pending_conf_index = last
        self._append_and_send(EntryKind.NORMAL, b"")

    def _campaign(self, pre: bool, transfer: bool) -> None:
        if pre:
            self.role = Role.PRE_CANDIDATE
            self.lead = NO_NODE
            self._votes = {}
            term = self.term + 1
        else:
            self._reset(self.term + 1)
            self.role = Role.CANDIDATE
            self.vote = self.id
            term = self.term
        self._tally(self.id, True)
        if self.role is Role.LEADER or (pre and self.role is not Role.PRE_CANDIDATE):
            return
        last_index, last_term = self.log.last_index, self.log.last_term
        for v in self._conf.voters:
            if v == self.id:
                continue
            if pre:
                self._send(MsgPreVote(self.id, v, term, last_index, last_term))
            else:
                self._send(MsgVote(self.id, v, term, last_index, last_term, transfer))

    def _tick_election(self) -> None:
        self._election_elapsed += 1
        if self.promotable and self._election_elapsed >= self._randomized_timeout:
            self._election_elapsed = 0
            self._campaign(pre=self._cfg.pre_vote, transfer=False)

    # --- configuration --------------------------------------------------------------

    def _apply_committed_conf(self) -> None:
        """Bring the voter set up to the commit index."""
        while self._conf_index < self.log.committed:
            self._conf_index += 1
            entry = self.log.entry(self._conf_index)
            if entry.kind is EntryKind.CONF_CHANGE:
                self._apply_conf_change(ConfChange.decode(entry.data))

    def _apply_conf_change(self, change: ConfChange) -> None:
        self._conf = self._conf.apply(change)
        removed_self = change.op is ConfChangeOp.REMOVE_VOTER and change.node_id == self.id
        if self.role is Role.LEADER:
            if change.op is ConfChangeOp.ADD_VOTER and change.node_id not in self.progress:
                # Count the newcomer as active so CheckQuorum gives it time to catch up.
                self.progress[change.node_id] = Progress(
                    match=0, next=self.log.last_index + 1, recent_active=True
                )
                self._send_append(change.node_id)
            elif change.op is ConfChangeOp.REMOVE_VOTER and not removed_self:
                self.progress.pop(change.node_id, None)
                if change.node_id == self._lead_transferee:
                    self._lead_transferee = NO_NODE
            if removed_self:
                # Tell the others the change committed before going quiet.
                self._bcast_append()
            elif self._maybe_commit():
                self._bcast_append(commit_only=True)
        if removed_self and self.role is not Role.FOLLOWER:
            self._become_follower(self.term, NO_NODE)

    def _conf_at(self, index: int) -> ConfState:
        conf = self.log.snapshot.conf
        for i in range(self.log.first_index, index + 1):
            entry = self.log.entry(i)
            if entry.kind is EntryKind.CONF_CHANGE:
                conf = conf.apply(ConfChange.decode(entry.data))
        return conf

    # --- plumbing -------------------------------------------------------------------

    def _send(self, m: Message) -> None:
        self._msgs.append(m)
