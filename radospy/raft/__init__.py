"""Raft consensus for the monitors: a sans-io core, its log and its durable storage.

The core (:class:`RaftNode`) is a pure state machine; a driver feeds it messages, ticks
and proposals and carries out each :class:`Ready` (persist, send, apply, advance).
"""

from radospy.raft.core import (
    ConfChangePending,
    Config,
    InvalidConfChange,
    LeadershipTransferring,
    NotLeader,
    ProposalError,
    RaftNode,
    ReadState,
    Ready,
    Role,
    SoftState,
    bootstrap_entries,
)
from radospy.raft.messages import (
    NO_NODE,
    ConfChange,
    ConfChangeOp,
    ConfState,
    Entry,
    EntryKind,
    HardState,
    Message,
    PersistentState,
    Snapshot,
    decode_message,
    encode_message,
)
from radospy.raft.storage import MemoryStorage, SqliteStorage, Storage, StoreInUse, save_ready
from radospy.raft.wal import WalCorrupt, WalStorage

__all__ = [
    "NO_NODE",
    "ConfChange",
    "ConfChangeOp",
    "ConfChangePending",
    "ConfState",
    "Config",
    "Entry",
    "EntryKind",
    "HardState",
    "InvalidConfChange",
    "LeadershipTransferring",
    "MemoryStorage",
    "Message",
    "NotLeader",
    "PersistentState",
    "ProposalError",
    "RaftNode",
    "ReadState",
    "Ready",
    "Role",
    "Snapshot",
    "SoftState",
    "SqliteStorage",
    "Storage",
    "StoreInUse",
    "WalCorrupt",
    "WalStorage",
    "bootstrap_entries",
    "decode_message",
    "encode_message",
    "save_ready",
]
