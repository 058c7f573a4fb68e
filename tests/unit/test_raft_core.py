"""The sans-io Raft core, driven by hand through a tiny reliable in-memory network."""

from __future__ import annotations

import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radospy.raft import (
    NO_NODE,
    ConfChange,
    ConfChangeOp,
    ConfChangePending,
    Config,
    Entry,
    HardState,
    InvalidConfChange,
    LeadershipTransferring,
    MemoryStorage,
    Message,
    NotLeader,
    PersistentState,
    RaftNode,
    ReadState,
    Ready,
    Role,
    bootstrap_entries,
    decode_message,
    encode_message,
    save_ready,
)
from radospy.raft.messages import (
    MsgApp,
    MsgAppResp,
    MsgHeartbeat,
    MsgHeartbeatResp,
    MsgPreVote,
    MsgReadIndex,
    MsgSnap,
    MsgVote,
    MsgVoteResp,
)


class Cluster:
    """Nodes wired by a reliable, ordered network whose links can be cut one way."""

    def __init__(self, n: int, **overrides: object) -> None:
        self.overrides = overrides
        self.peers = tuple(range(1, n + 1))
        self.storage = {i: MemoryStorage() for i in self.peers}
        self.nodes: dict[int, RaftNode] = {}
        self.applied: dict[int, list[Entry]] = {}
        self.reads: dict[int, list[ReadState]] = {}
        self.cut: set[tuple[int, int]] = set()
        self.sent: list[Message] = []
        for i in self.peers:
            self.start(i, self.peers)

    def start(self, i: int, peers: tuple[int, ...] = ()) -> RaftNode:
        """(Re)start node ``i`` from its storage."""
        self.storage.setdefault(i, MemoryStorage())
        cfg = Config(i, random.Random(i), peers=peers, **self.overrides)  # type: ignore[arg-type]
        self.nodes[i] = RaftNode(cfg, self.storage[i].load())
        self.applied[i] = []
        self.reads[i] = []
        return self.nodes[i]

    def isolate(self, i: int) -> None:
        for j in self.nodes:
            if j != i:
                self.cut |= {(i, j), (j, i)}

    def pump(self, send_commits: bool = True) -> None:
        """Run every Ready and deliver every message until nothing moves; a leader
        sends a commit no append carried unless ``send_commits`` is False."""
        moved = True
        while moved:
            moved = False
            for i, node in list(self.nodes.items()):
                while node.has_ready():
                    moved = True
                    rd = node.ready()
                    save_ready(self.storage[i], rd)
                    self.applied[i].extend(rd.committed_entries)
                    self.reads[i].extend(rd.read_states)
                    node.advance(rd)
                    for m in rd.messages:
                        self.sent.append(m)
                        if (m.frm, m.to) not in self.cut and m.to in self.nodes:
                            self.nodes[m.to].step(m)
                if send_commits and node.commit_unsent:
                    # As a driver does when no proposal came to carry the commit.
                    node.send_commit()
                    moved = True

    def tick(self, times: int = 1) -> None:
        for _ in range(times):
            for node in self.nodes.values():
                node.tick()
            self.pump()

    def elect(self, i: int) -> RaftNode:
        self.pump()
        self.nodes[i].campaign()
        self.pump()
        assert self.nodes[i].role is Role.LEADER
        return self.nodes[i]

    def data(self, i: int) -> list[bytes]:
        return [e.data for e in self.applied[i] if e.data and e.kind == 0]


def _flush(node: RaftNode) -> Ready:
    rd = node.ready()
    node.advance(rd)
    return rd


def test_single_node_elects_itself_and_commits() -> None:
    c = Cluster(1)
    c.tick(25)
    node = c.nodes[1]
    assert node.role is Role.LEADER
    index = node.propose(b"a")
    c.pump()
    assert node.committed == index
    assert c.data(1) == [b"a"]


def test_three_nodes_elect_one_leader_and_replicate() -> None:
    c = Cluster(3)
    c.tick(30)
    leaders = [n for n in c.nodes.values() if n.role is Role.LEADER]
    assert len(leaders) == 1
    leader = leaders[0]
    leader.propose(b"x")
    c.pump()
    for i in c.nodes:
        assert c.data(i) == [b"x"]
        assert c.nodes[i].lead == leader.id


def test_election_timeouts_are_randomised_but_deterministic() -> None:
    def first_campaign(seed: int) -> int:
        node = RaftNode(Config(1, random.Random(seed), peers=(1, 2, 3)), PersistentState())
        for t in range(1, 100):
            node.tick()
            if node.role is not Role.FOLLOWER:
                return t
        raise AssertionError("never campaigned")

    ticks = {first_campaign(s) for s in range(20)}
    assert all(10 <= t < 20 for t in ticks)
    assert len(ticks) > 3
    assert first_campaign(5) == first_campaign(5)


def test_follower_refuses_proposals_naming_the_leader() -> None:
    c = Cluster(3)
    c.elect(2)
    with pytest.raises(NotLeader) as err:
        c.nodes[1].propose(b"x")
    assert err.value.leader == 2
    fresh = Cluster(3)
    with pytest.raises(NotLeader) as err:
        fresh.nodes[1].propose(b"x")
    assert err.value.leader == NO_NODE


def test_prevote_keeps_an_isolated_node_from_inflating_its_term() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    term = leader.term
    c.isolate(3)
    c.tick(100)
    assert c.nodes[3].term == term
    assert c.nodes[3].role is Role.PRE_CANDIDATE
    c.cut.clear()
    c.tick(5)
    assert leader.role is Role.LEADER and leader.term == term


def test_without_prevote_a_rejoining_node_deposes_the_leader() -> None:
    c = Cluster(3, pre_vote=False, check_quorum=False)
    leader = c.elect(1)
    term = leader.term
    c.isolate(3)
    c.tick(100)
    assert c.nodes[3].term > term + 2
    c.cut.clear()
    c.tick(30)
    # The old leadership was disrupted: everyone moved past the inflated term.
    assert all(n.term > term + 2 for n in c.nodes.values())


def test_check_quorum_makes_a_cut_off_leader_step_down() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    c.isolate(1)
    c.tick(25)
    assert leader.role is Role.FOLLOWER
    new = [n for i, n in c.nodes.items() if i != 1 and n.role is Role.LEADER]
    assert len(new) == 1


def test_lease_ignores_higher_term_votes_while_leader_is_heard() -> None:
    c = Cluster(3)
    c.elect(1)
    follower = c.nodes[2]
    term = follower.term
    follower.step(MsgVote(3, 2, term + 5, last_index=100, last_term=term + 4))
    assert follower.term == term
    assert not [m for m in follower.ready().messages if isinstance(m, MsgVoteResp)]


def test_votes_once_per_term_and_only_for_up_to_date_logs() -> None:
    c = Cluster(3)
    c.pump()
    node = c.nodes[1]
    node.step(MsgVote(2, 1, 5, last_index=3, last_term=1))
    node.step(MsgVote(3, 1, 5, last_index=3, last_term=1))
    node.step(MsgVote(3, 1, 6, last_index=2, last_term=1))
    resps = [m for m in node.ready().messages if isinstance(m, MsgVoteResp)]
    assert [(m.to, m.term, m.reject) for m in resps] == [(2, 5, False), (3, 5, True), (3, 6, True)]


def test_vote_survives_restart() -> None:
    c = Cluster(3)
    c.pump()
    c.nodes[1].step(MsgVote(2, 1, 5, last_index=3, last_term=1))
    c.pump()
    node = c.start(1)
    assert (node.term, node.vote) == (5, 2)
    node.step(MsgVote(3, 1, 5, last_index=3, last_term=1))
    (resp,) = node.ready().messages
    assert isinstance(resp, MsgVoteResp) and resp.reject


def _divergent_follower(old_entries: int) -> tuple[RaftNode, int]:
    """A follower whose log holds ``old_entries`` entries of term 2 the leader lacks."""
    boot = bootstrap_entries((1, 2, 3))
    stale = [Entry(2, 4 + k, data=b"old") for k in range(old_entries)]
    state = PersistentState(HardState(3, NO_NODE, 3), None, tuple(boot + stale))
    return RaftNode(Config(2, random.Random(2), pre_vote=False), state), 3


def test_reject_hint_skips_a_whole_divergent_term() -> None:
    follower, committed = _divergent_follower(50)
    leader_last = committed + 30  # the leader holds 30 entries of term 3 after index 3
    follower.step(
        MsgApp(1, 2, 4, prev_index=leader_last, prev_term=3, entries=(), commit=committed)
    )
    (resp,) = follower.ready().messages
    assert isinstance(resp, MsgAppResp) and resp.reject
    assert (resp.hint_index, resp.hint_term) == (leader_last, 2)


def test_leader_backtracks_in_few_round_trips() -> None:
    c = Cluster(3, check_quorum=False)
    old = c.elect(1)
    c.isolate(1)
    for k in range(60):
        old.propose(f"lost{k}".encode())  # a divergent tail that never replicates
    c.pump()
    second = c.elect(2)
    for k in range(40):
        second.propose(f"kept{k}".encode())
    c.pump()
    # A third leader knows nothing about node 1 and starts probing at its own last index.
    new = c.elect(3)
    c.sent.clear()
    c.cut.clear()
    c.tick(3)
    assert old.role is Role.FOLLOWER
    rejects = [m for m in c.sent if isinstance(m, MsgAppResp) and m.reject and m.frm == 1]
    assert 1 <= len(rejects) <= 2
    assert old.log.last_index == new.log.last_index
    assert c.data(1) == [f"kept{k}".encode() for k in range(40)]


def test_commits_only_entries_of_its_own_term_by_counting() -> None:
    boot = bootstrap_entries((1, 2, 3))
    state = PersistentState(HardState(2, NO_NODE, 3), None, (*boot, Entry(2, 4, data=b"old")))
    node = RaftNode(Config(1, random.Random(1), pre_vote=False), state)
    node.campaign()
    node.step(MsgVoteResp(2, 1, 3, reject=False))
    assert node.role is Role.LEADER and node.log.last_index == 5
    node.step(MsgAppResp(2, 1, 3, index=4))
    assert node.committed == 3  # index 4 is of term 2: a quorum holding it is not enough
    node.step(MsgAppResp(2, 1, 3, index=5))
    assert node.committed == 3  # the leader's own copy of 5 is not known durable yet
    _flush(node)
    assert node.committed == 5


def test_a_leader_counts_its_own_entries_only_once_they_are_durable() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    c.isolate(3)
    index = leader.propose(b"x")
    rd = leader.ready()
    assert rd.send_first and rd.entries[-1].index == index
    leader.advance(rd, durable=False)  # the save goes on in the background
    for m in rd.messages:
        if m.to == 2:
            c.nodes[2].step(m)
    c.pump()  # node 2's acknowledgement reaches the leader
    assert leader.progress[2].match == index
    assert leader.committed < index  # one durable copy of two needed
    leader.persisted(index, leader.term)
    assert leader.committed == index
    c.pump()
    assert c.data(1) == c.data(2) == [b"x"]


def test_a_lone_voter_commits_once_its_save_is_durable() -> None:
    c = Cluster(1)
    c.tick(25)
    node = c.nodes[1]
    index = node.propose(b"a")
    rd = node.ready()
    node.advance(rd, durable=False)
    assert not node.has_ready() and node.committed < index
    node.persisted(index, node.term)
    assert node.committed == index
    assert _flush(node).committed_entries[-1].data == b"a"


def test_only_a_leaders_ready_may_be_persisted_in_the_background() -> None:
    node = Cluster(3).nodes[2]
    node.step(MsgVote(1, 2, 2, 3, 1))
    rd = node.ready()
    assert not rd.send_first
    with pytest.raises(RuntimeError):
        node.advance(rd, durable=False)


def test_a_save_reported_after_its_entries_were_replaced_counts_for_nothing() -> None:
    c = Cluster(3)
    old = c.elect(1)
    c.isolate(1)
    index = old.propose(b"lost")
    old.advance(old.ready(), durable=False)
    stale_term = old.term
    c.tick(40)  # nodes 2 and 3 elect one of them
    new = next(n for n in (c.nodes[2], c.nodes[3]) if n.role is Role.LEADER)
    new.propose(b"kept")
    c.pump()
    c.cut.clear()
    c.tick()  # the old leader steps down and takes the new leader's entries
    assert old.role is Role.FOLLOWER and old.log.term(index) != stale_term
    durable = old.log.durable
    old.persisted(index, stale_term)
    assert old.log.durable == durable


def test_new_leader_appends_an_empty_entry() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    last = leader.log.entry(leader.log.last_index)
    assert (last.term, last.data) == (leader.term, b"")
    assert leader.committed == last.index


def test_read_index_waits_for_a_heartbeat_quorum() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    c.isolate(1)
    leader.read_index(b"r1")
    c.pump()
    assert c.reads[1] == []
    c.cut.clear()
    c.tick(1)
    assert c.reads[1] == [ReadState(leader.committed, b"r1")]


def test_follower_read_is_forwarded_to_the_leader() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    c.nodes[2].read_index(b"r2")
    c.pump()
    assert any(isinstance(m, MsgReadIndex) for m in c.sent)
    assert c.reads[2] == [ReadState(leader.committed, b"r2")]


def test_a_lagging_follower_read_covers_what_it_missed_without_a_tick() -> None:
    """A monitor's read barrier before refusing an unknown entity: the follower missed
    an entry and its commit; its ReadIndex round alone (no heartbeat timer) brings it
    the entry, the commit and an index covering them."""
    c = Cluster(3)
    leader = c.elect(1)
    c.cut |= {(1, 3)}
    index = leader.propose(b"user")
    c.pump()
    assert leader.committed == index and c.data(3) == []
    c.cut.clear()
    c.nodes[3].read_index(b"r3")
    c.pump()
    (read,) = c.reads[3]
    assert read.index >= index
    assert c.nodes[3].applied >= read.index and c.data(3) == [b"user"]


def test_followers_learn_a_commit_at_once_without_answering_it() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    c.sent.clear()
    index = leader.propose(b"x")
    c.pump()
    assert all(c.data(i) == [b"x"] for i in c.nodes)
    assert all(n.committed == index for n in c.nodes.values())
    # One answer per follower for the entry; none for the commit that followed it.
    assert sorted(m.frm for m in c.sent if isinstance(m, MsgAppResp)) == [2, 3]
    assert any(isinstance(m, MsgApp) and m.quiet and m.commit == index for m in c.sent)


def test_a_commit_rides_on_the_next_proposals_append() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    first = leader.propose(b"x")
    c.pump(send_commits=False)
    assert leader.committed == first and leader.commit_unsent
    assert all(c.nodes[i].committed < first for i in (2, 3))
    c.sent.clear()
    second = leader.propose(b"y")
    c.pump(send_commits=False)
    assert all(c.data(i) == [b"x"] for i in (2, 3))  # learnt from y's append
    appends = [m for m in c.sent if isinstance(m, MsgApp)]
    assert len(appends) == 2 and all(m.entries for m in appends)
    assert leader.committed == second and leader.commit_unsent
    leader.send_commit()
    c.pump(send_commits=False)
    assert all(c.data(i) == [b"x", b"y"] for i in (2, 3))
    assert not leader.commit_unsent


def test_a_follower_read_brings_the_commit_it_waits_for() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    index = leader.propose(b"x")
    c.pump(send_commits=False)
    follower = c.nodes[2]
    assert follower.committed < index
    follower.read_index(b"r")
    c.pump(send_commits=False)
    assert c.reads[2] == [ReadState(index, b"r")]
    # The read's heartbeat round carried the commit: it serves the read at once.
    assert c.data(2) == [b"x"]


def test_an_answer_lost_before_a_quiet_commit_is_recovered_by_the_heartbeat() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    c.cut |= {(3, 1)}
    index = leader.propose(b"x")
    c.pump()
    assert leader.progress[3].match < index and c.data(3) == [b"x"]
    c.cut.clear()
    c.tick()
    assert leader.progress[3].match == index


def test_read_index_waits_for_the_first_commit_of_the_term() -> None:
    boot = bootstrap_entries((1, 2, 3))
    state = PersistentState(HardState(2, NO_NODE, 3), None, (*boot, Entry(2, 4, data=b"old")))
    node = RaftNode(Config(1, random.Random(1), pre_vote=False), state)
    node.campaign()
    node.step(MsgVoteResp(2, 1, 3, reject=False))
    _flush(node)
    node.read_index(b"r")
    assert not any(isinstance(m, MsgHeartbeat) for m in _flush(node).messages)
    node.step(MsgAppResp(2, 1, 3, index=5))
    beats = [m for m in _flush(node).messages if isinstance(m, MsgHeartbeat)]
    assert beats and all(m.ctx == b"r" for m in beats)
    node.step(MsgHeartbeatResp(2, 1, 3, ctx=b"r"))
    assert _flush(node).read_states == (ReadState(5, b"r"),)


def test_conf_change_add_then_remove_including_the_leader() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    leader.propose_conf_change(ConfChange(ConfChangeOp.ADD_VOTER, 4))
    with pytest.raises(ConfChangePending):
        leader.propose_conf_change(ConfChange(ConfChangeOp.ADD_VOTER, 5))
    c.start(4)
    c.pump()
    assert leader.voters == (1, 2, 3, 4)
    assert c.nodes[4].voters == (1, 2, 3, 4)
    leader.propose(b"after-add")
    c.pump()
    assert c.data(4) == [b"after-add"]
    leader.propose_conf_change(ConfChange(ConfChangeOp.REMOVE_VOTER, 1))
    c.pump()
    assert leader.role is Role.FOLLOWER
    assert c.nodes[2].voters == (2, 3, 4)
    c.tick(30)
    new = [n for n in c.nodes.values() if n.role is Role.LEADER]
    assert len(new) == 1 and new[0].id != 1


def test_invalid_conf_changes_are_refused() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    with pytest.raises(InvalidConfChange):
        leader.propose_conf_change(ConfChange(ConfChangeOp.ADD_VOTER, 2))
    with pytest.raises(InvalidConfChange):
        leader.propose_conf_change(ConfChange(ConfChangeOp.REMOVE_VOTER, 9))
    solo = Cluster(1)
    solo.tick(25)
    with pytest.raises(InvalidConfChange):
        solo.nodes[1].propose_conf_change(ConfChange(ConfChangeOp.REMOVE_VOTER, 1))


def test_lagging_follower_gets_a_snapshot_after_compaction() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    c.isolate(3)
    for k in range(20):
        leader.propose(f"v{k}".encode())
    c.pump()
    leader.compact(leader.applied, b"state-at-applied")
    c.pump()
    assert c.storage[1].load().snapshot is not None
    assert leader.log.first_index > 10
    c.cut.clear()
    c.tick(3)
    assert any(isinstance(m, MsgSnap) for m in c.sent)
    follower = c.nodes[3]
    assert follower.log.snapshot.data == b"state-at-applied"
    assert follower.committed == leader.committed
    assert c.storage[3].load().snapshot == follower.log.snapshot
    assert follower.voters == (1, 2, 3)


def test_compact_refuses_unapplied_or_already_compacted_indexes() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    with pytest.raises(ValueError):
        leader.compact(leader.applied + 1, b"")
    leader.compact(leader.applied, b"")
    with pytest.raises(ValueError):
        leader.compact(leader.applied, b"")


def test_restart_replays_committed_entries_after_the_snapshot() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    for k in range(5):
        leader.propose(f"v{k}".encode())
    c.pump()
    node = c.start(2)
    c.pump()
    assert c.data(2) == [f"v{k}".encode() for k in range(5)]
    assert node.voters == (1, 2, 3)


def test_leadership_transfer() -> None:
    c = Cluster(3)
    leader = c.elect(1)
    c.isolate(3)
    leader.propose(b"x")
    c.pump()
    leader.transfer_leadership(3)
    with pytest.raises(LeadershipTransferring):
        leader.propose(b"y")
    c.cut.clear()
    c.tick(2)
    assert c.nodes[3].role is Role.LEADER
    assert leader.role is Role.FOLLOWER


def test_ready_and_advance_must_alternate() -> None:
    node = Cluster(3).nodes[1]
    rd = node.ready()
    node.advance(rd)
    with pytest.raises(RuntimeError):
        node.advance(rd)
    node.ready()
    with pytest.raises(RuntimeError):
        node.ready()


def test_message_for_another_node_is_refused() -> None:
    node = Cluster(3).nodes[1]
    with pytest.raises(ValueError):
        node.step(MsgHeartbeat(2, 3, 1, commit=0))


_message = st.one_of(
    st.builds(MsgPreVote, st.integers(1, 9), st.integers(1, 9), st.integers(0, 99),
              st.integers(0, 99), st.integers(0, 99)),
    st.builds(MsgHeartbeatResp, st.integers(1, 9), st.integers(1, 9), st.integers(0, 99),
              st.binary(max_size=8)),
    st.builds(
        MsgApp, st.integers(1, 9), st.integers(1, 9), st.integers(0, 99), st.integers(0, 99),
        st.integers(0, 99),
        st.lists(st.builds(Entry, st.integers(1, 9), st.integers(1, 99),
                           st.sampled_from([0, 1]).map(lambda k: k), st.binary(max_size=8)),
                 max_size=3).map(tuple),
        st.integers(0, 99),
    ),
)  # fmt: skip


@given(_message)
def test_messages_round_trip_on_the_wire(m: Message) -> None:
    assert decode_message(encode_message(m)) == m


def test_malformed_frames_are_refused() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_message(b"\xc1garbage")
    with pytest.raises(msgspec.ValidationError):
        decode_message(msgspec.msgpack.encode({"type": "MsgApp", "frm": "x"}))


_schedule = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), st.integers(1, 3)),
        st.tuples(st.just("propose"), st.integers(1, 3)),
        st.tuples(st.just("cut"), st.integers(1, 3), st.integers(1, 3)),
        st.tuples(st.just("heal"), st.just(0)),
        st.tuples(st.just("restart"), st.integers(1, 3)),
    ),
    max_size=80,
)


@settings(max_examples=80, deadline=None)
@given(_schedule)
def test_random_schedules_keep_leaders_unique_and_applied_prefixes_equal(
    schedule: list[tuple[object, ...]],
) -> None:
    c = Cluster(3)
    leaders: dict[int, int] = {}
    counter = 0
    for op in schedule:
        kind = op[0]
        if kind == "tick":
            c.tick(5)
        elif kind == "propose":
            counter += 1
            node = c.nodes[int(op[1])]  # type: ignore[call-overload]
            if node.role is Role.LEADER:
                node.propose(f"p{counter}".encode())
        elif kind == "cut":
            c.cut.add((int(op[1]), int(op[2])))  # type: ignore[call-overload]
        elif kind == "heal":
            c.cut.clear()
        else:
            c.start(int(op[1]), c.peers)  # type: ignore[call-overload]
        c.pump()
        for n in c.nodes.values():
            if n.role is Role.LEADER:
                assert leaders.setdefault(n.term, n.id) == n.id
    applied = [c.applied[i] for i in c.nodes]
    for a in applied:
        for b in applied:
            common = min(len(a), len(b))
            assert a[:common] == b[:common]
