"""Raft's data model: log entries, persistent state, snapshots and the wire messages.

Every type is a frozen msgspec ``Struct`` so that a driver can encode a message with
``msgspec.msgpack.encode`` and decode it back with ``decode_message``, which validates
the frame against the tagged union :data:`Message` (DESIGN §6): a malformed frame is
refused at the boundary, never half-processed by the core.

Terms and indexes start at 1; 0 means "none" (no entry, no term). Node ids are
positive integers; :data:`NO_NODE` (0) stands for "nobody" (no vote, no leader).
"""

from __future__ import annotations

import enum

import msgspec

NO_NODE = 0
"""The node id meaning "nobody": no vote cast, no known leader."""


class EntryKind(enum.IntEnum):
    """What an entry's data means to Raft itself."""

    NORMAL = 0
    """Opaque application data (an empty NORMAL entry is a new leader's no-op)."""
    CONF_CHANGE = 1
    """An encoded :class:`ConfChange`; Raft applies it to its voter set on commit."""


class ConfChangeOp(enum.IntEnum):
    """Single-server membership changes (thesis §4.1): one voter in or out per entry."""

    ADD_VOTER = 0
    REMOVE_VOTER = 1


class Entry(msgspec.Struct, frozen=True):
    """One log entry."""

    term: int
    index: int
    kind: EntryKind = EntryKind.NORMAL
    data: bytes = b""


class ConfChange(msgspec.Struct, frozen=True):
    """The payload of a CONF_CHANGE entry."""

    op: ConfChangeOp
    node_id: int

    def encode(self) -> bytes:
        """Serialise for an entry's data."""
        return msgspec.msgpack.encode(self)

    @classmethod
    def decode(cls, data: bytes) -> ConfChange:
        """Parse an entry's data (raises ``msgspec.DecodeError`` on garbage)."""
        return msgspec.msgpack.decode(data, type=cls)


class ConfState(msgspec.Struct, frozen=True):
    """The voter set in force at some log index."""

    voters: tuple[int, ...] = ()

    def apply(self, change: ConfChange) -> ConfState:
        """The voter set after ``change``; adding a present or removing an absent voter is
        a no-op, which keeps replay after a restart idempotent."""
        voters = set(self.voters)
        if change.op is ConfChangeOp.ADD_VOTER:
            voters.add(change.node_id)
        else:
            voters.discard(change.node_id)
        return ConfState(tuple(sorted(voters)))


class HardState(msgspec.Struct, frozen=True):
    """What Raft must persist before it speaks: current term, vote in it, commit index."""

    term: int = 0
    vote: int = NO_NODE
    commit: int = 0


class Snapshot(msgspec.Struct, frozen=True):
    """The state machine as of ``index`` (an entry of ``term``) with the voters then."""

    index: int = 0
    term: int = 0
    conf: ConfState = ConfState()
    data: bytes = b""


class PersistentState(msgspec.Struct, frozen=True):
    """Everything a storage hands back on restart."""

    hard_state: HardState = HardState()
    snapshot: Snapshot | None = None
    entries: tuple[Entry, ...] = ()


# --- wire messages -----------------------------------------------------------------


class _Msg(msgspec.Struct, frozen=True, tag=True):
    """Fields every message carries: sender, receiver and the sender's term."""

    frm: int
    to: int
    term: int


class MsgPreVote(_Msg, frozen=True, tag=True):
    """Would you vote for me at ``term`` (my term + 1)? Nobody changes term for it."""

    last_index: int
    last_term: int


class MsgPreVoteResp(_Msg, frozen=True, tag=True):
    """Answer to a pre-vote; ``term`` is the asked term when granted, else the voter's."""

    reject: bool


class MsgVote(_Msg, frozen=True, tag=True):
    """RequestVote. ``transfer`` marks a campaign started by :class:`MsgTimeoutNow`,
    which voters honour even while they still hear from a leader."""

    last_index: int
    last_term: int
    transfer: bool = False


class MsgVoteResp(_Msg, frozen=True, tag=True):
    """Answer to RequestVote."""

    reject: bool


class MsgApp(_Msg, frozen=True, tag=True):
    """AppendEntries: ``entries`` follow the entry at ``prev_index`` of ``prev_term``."""

    prev_index: int
    prev_term: int
    entries: tuple[Entry, ...]
    commit: int
    quiet: bool = False
    """No answer wanted if it is accepted: it carries no entries, only a new commit
    index, to a follower in REPLICATE (accepting it would tell the leader nothing new).
    A rejection is always answered."""


class MsgAppResp(_Msg, frozen=True, tag=True):
    """AppendEntries result.

    Accepted: ``index`` is the follower's last index known to match the leader.
    Rejected: ``index`` is the rejected ``prev_index``; ``hint_index``/``hint_term`` name
    the follower's last entry whose term is at most the rejected ``prev_term``, so the
    leader can skip a whole term of mismatching entries per round trip.
    """

    index: int
    reject: bool = False
    hint_index: int = 0
    hint_term: int = 0


class MsgHeartbeat(_Msg, frozen=True, tag=True):
    """Leader liveness; ``commit`` is capped at what the follower is known to hold and
    ``ctx`` names the newest ReadIndex request this round confirms."""

    commit: int
    ctx: bytes = b""


class MsgHeartbeatResp(_Msg, frozen=True, tag=True):
    """Echoes the heartbeat's ``ctx`` so the leader can count read confirmations."""

    ctx: bytes = b""


class MsgSnap(_Msg, frozen=True, tag=True):
    """InstallSnapshot: sent when the entries a follower needs are compacted away."""

    snapshot: Snapshot


class MsgReadIndex(_Msg, frozen=True, tag=True):
    """A follower asks the leader for a linearizable read index on behalf of ``ctx``."""

    ctx: bytes


class MsgReadIndexResp(_Msg, frozen=True, tag=True):
    """The leader's answer: once applied reaches ``index`` the read for ``ctx`` may run."""

    index: int
    ctx: bytes


class MsgTimeoutNow(_Msg, frozen=True, tag=True):
    """Leadership transfer: campaign right away, ignoring the election timer."""


Message = (
    MsgPreVote
    | MsgPreVoteResp
    | MsgVote
    | MsgVoteResp
    | MsgApp
    | MsgAppResp
    | MsgHeartbeat
    | MsgHeartbeatResp
    | MsgSnap
    | MsgReadIndex
    | MsgReadIndexResp
    | MsgTimeoutNow
)
"""Any Raft message between two nodes."""

_DECODER: msgspec.msgpack.Decoder[Message] = msgspec.msgpack.Decoder(Message)


def encode_message(msg: Message) -> bytes:
    """Serialise a message as msgpack (its type travels as the struct tag)."""
    return msgspec.msgpack.encode(msg)


def decode_message(data: bytes) -> Message:
    """Parse and validate one message (raises ``msgspec.DecodeError`` or
    ``msgspec.ValidationError`` on a malformed frame)."""
    return _DECODER.decode(data)
